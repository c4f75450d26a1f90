#include "auth/property_protections.h"
#include "common/text.h"

#include <algorithm>
#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <re2/re2.h>
#include <fstream>
#include <map>
#include <sstream>

namespace glint::auth {

namespace {

constexpr const char* kOps[] = {"create", "read", "update", "delete"};

Status InvalidSection(const std::string& section, const std::string& why) {
  return Status::InvalidArgument("property protection file: [" + section + "]: " + why);
}

// One entry ("admin, member" or a policy name) as the list Allowed checks.
Result<std::vector<std::string>> ParseEntry(const std::string& section, const std::string& op,
                                            const std::string& value, PropertyProtections::Format format) {
  std::vector<std::string> out;
  if (value.empty()) return out;  // nobody (Glance logs a warning)
  if (format == PropertyProtections::Format::kPolicies) {
    if (value.find(',') != std::string::npos) {
      return InvalidSection(section, "multiple policies '" + value + "' are not allowed for " + op +
                                  "; combine them in the policy file");
    }
    out.push_back(value);
    return out;
  }
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(AsciiLower(Trimmed(item)));
  bool any = std::count(out.begin(), out.end(), "@") > 0;
  bool none = std::count(out.begin(), out.end(), "!") > 0;
  if (any && none) return InvalidSection(section, op + " = " + value + ": '@' and '!' are mutually exclusive");
  return out;
}

// The file's sections in file order, each with its entries. Python's configparser reads a
// section header up to the line's last ']', so an expression may hold a character class
// ([^x_[a-z]+$]); Boost's reader stops at the first ']' and drops the rest of the line.
// Each header goes to Boost as a placeholder and comes back by its number. A section
// named twice is refused, as configparser refuses it.
Result<std::vector<std::pair<std::string, boost::property_tree::ptree>>> ReadSections(const std::string& text) {
  std::vector<std::string> names;
  std::string rewritten;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const std::string t = Trimmed(line);
    const size_t close = t.rfind(']');
    if (t.size() > 2 && t[0] == '[' && close != std::string::npos && close > 1) {
      const std::string name = t.substr(1, close - 1);
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return InvalidSection(name, "the section appears more than once");
      }
      rewritten += "[=" + std::to_string(names.size()) + "]\n";  // '=' ends a key: no entry looks so
      names.push_back(name);
    } else {
      rewritten += line + "\n";
    }
  }
  boost::property_tree::ptree pt;
  try {
    std::istringstream in(rewritten);
    boost::property_tree::ini_parser::read_ini(in, pt);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("property protection file: ") + e.what());
  }
  for (const auto& [key, _] : pt) {
    if (key.empty() || key[0] != '=') {
      return Status::InvalidArgument("property protection file: '" + key + "' is outside any section");
    }
  }
  // Boost drops a section without entries; to configparser it is a section all the same
  // (one that [DEFAULT] may fill).
  std::vector<std::pair<std::string, boost::property_tree::ptree>> out;
  for (size_t i = 0; i < names.size(); ++i) {
    auto keys = pt.get_child_optional(boost::property_tree::ptree::path_type("=" + std::to_string(i), '\0'));
    out.emplace_back(names[i], keys ? *keys : boost::property_tree::ptree());
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PropertyProtections>> PropertyProtections::Parse(const std::string& text, Format format,
                                                                         PolicyEngine* policy) {
  auto sections = ReadSections(text);
  if (!sections.ok()) return sections.status();
  // As Python's configparser: option names are case-insensitive and [DEFAULT] gives every
  // section the entries it lacks (it is not a rule itself).
  auto entries_of = [](const boost::property_tree::ptree& keys) {
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : keys) m[AsciiLower(Trimmed(k))] = v.data();
    return m;
  };
  std::map<std::string, std::string> defaults;
  for (const auto& [section, keys] : *sections) {
    if (section == "DEFAULT") defaults = entries_of(keys);
  }
  std::unique_ptr<PropertyProtections> p(new PropertyProtections(format, policy));
  for (const auto& [section, keys] : *sections) {
    if (section == "DEFAULT") continue;
    Rule rule;
    rule.expression = section;
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const RE2>(section, options);
    if (!regex->ok()) return InvalidSection(section, "not a regular expression RE2 accepts: " + regex->error());
    rule.regex = std::move(regex);
    auto values = entries_of(keys);
    values.insert(defaults.begin(), defaults.end());
    for (int op = 0; op < 4; ++op) {
      auto value = values.find(kOps[op]);
      if (value == values.end()) return InvalidSection(section, std::string("no '") + kOps[op] + "' entry");
      auto entry = ParseEntry(section, kOps[op], Trimmed(value->second), format);
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
      return std::find(entry.begin(), entry.end(), AsciiLower(r)) != entry.end();
    });
  };
  return has(ctx.roles) || has(ctx.service_roles);
}

bool PropertyProtections::Allowed(const std::string& name, PropertyOp op, const RequestContext& ctx) const {
  for (const Rule& rule : rules_) {
    if (RE2::PartialMatch(name, *rule.regex)) return EntryAllows(rule.entries[static_cast<int>(op)], ctx);
  }
  return false;  // no section covers the name
}

}  // namespace glint::auth
