#include "auth/property_protections.h"

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <fstream>
#include <map>
#include <sstream>

namespace glint::auth {

namespace {

constexpr const char* kOps[] = {"create", "read", "update", "delete"};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status Invalid(const std::string& section, const std::string& why) {
  return Status::InvalidArgument("property protection file: [" + section + "]: " + why);
}

// One entry ("admin, member" or a policy name) as the list Allowed checks.
Result<std::vector<std::string>> ParseEntry(const std::string& section, const std::string& op,
                                            const std::string& value, PropertyProtections::Format format) {
  std::vector<std::string> out;
  if (value.empty()) return out;  // nobody (Glance logs a warning)
  if (format == PropertyProtections::Format::kPolicies) {
    if (value.find(',') != std::string::npos) {
      return Invalid(section, "multiple policies '" + value + "' are not allowed for " + op +
                                  "; combine them in the policy file");
    }
    out.push_back(value);
    return out;
  }
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(Lower(Trim(item)));
  bool any = std::count(out.begin(), out.end(), "@") > 0;
  bool none = std::count(out.begin(), out.end(), "!") > 0;
  if (any && none) return Invalid(section, op + " = " + value + ": '@' and '!' are mutually exclusive");
  return out;
}

}  // namespace

Result<std::unique_ptr<PropertyProtections>> PropertyProtections::Parse(const std::string& text, Format format,
                                                                         PolicyEngine* policy) {
  boost::property_tree::ptree pt;
  try {
    std::istringstream in(text);
    boost::property_tree::ini_parser::read_ini(in, pt);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("property protection file: ") + e.what());
  }
  // As Python's configparser: option names are case-insensitive and [DEFAULT] gives every
  // section the entries it lacks (it is not a rule itself).
  auto entries_of = [](const boost::property_tree::ptree& keys) {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : keys) m[Lower(Trim(k))] = v.data();
    return m;
  };
  std::map<std::string, std::string> defaults;
  if (auto d = pt.get_child_optional(boost::property_tree::ptree::path_type("DEFAULT", '\0'))) {
    defaults = entries_of(*d);
  }
  std::unique_ptr<PropertyProtections> p(new PropertyProtections(format, policy));
  for (const auto& [section, keys] : pt) {
    if (keys.empty() && !keys.data().empty()) {
      return Status::InvalidArgument("property protection file: '" + section + "' is outside any section");
    }
    if (section == "DEFAULT") continue;
    Rule rule;
    rule.expression = section;
    try {
      rule.regex = std::regex(section, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Invalid(section, std::string("not a regular expression: ") + e.what());
    }
    auto values = entries_of(keys);
    values.insert(defaults.begin(), defaults.end());
    for (int op = 0; op < 4; ++op) {
      auto value = values.find(kOps[op]);
      if (value == values.end()) return Invalid(section, std::string("no '") + kOps[op] + "' entry");
      auto entry = ParseEntry(section, kOps[op], Trim(value->second), format);
      if (!entry.ok()) return entry.status();
      rule.entries[op] = std::move(entry).value();
    }
    p->rules_.push_back(std::move(rule));
  }
  return p;
}

Result<std::unique_ptr<PropertyProtections>> PropertyProtections::Load(const std::string& path, Format format,
                                                                        PolicyEngine* policy) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read the property protection file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), format, policy);
}

bool PropertyProtections::EntryAllows(const std::vector<std::string>& entry, const RequestContext& ctx) const {
  if (entry.empty()) return false;
  if (std::find(entry.begin(), entry.end(), "!") != entry.end()) return false;
  if (std::find(entry.begin(), entry.end(), "@") != entry.end()) return true;
  if (format_ == Format::kPolicies) return policy_ && policy_->RuleAllows(entry.front(), ctx, {});
  auto has = [&](const std::vector<std::string>& roles) {
    return std::any_of(roles.begin(), roles.end(), [&](const std::string& r) {
      return std::find(entry.begin(), entry.end(), Lower(r)) != entry.end();
    });
  };
  return has(ctx.roles) || has(ctx.service_roles);
}

bool PropertyProtections::Allowed(const std::string& name, PropertyOp op, const RequestContext& ctx) const {
  for (const Rule& rule : rules_) {
    if (std::regex_search(name, rule.regex)) return EntryAllows(rule.entries[static_cast<int>(op)], ctx);
  }
  return false;  // no section covers the name
}

}  // namespace glint::auth
