#include "notify/message.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace glint::notify {

std::string_view PriorityName(Priority p) {
  switch (p) {
    case Priority::kWarn:
      return "WARN";
    case Priority::kError:
      return "ERROR";
    case Priority::kInfo:
      break;
  }
  return "INFO";
}

namespace {

// Python's str(datetime): the fraction only when it is not zero.
std::string PythonTimestamp(int64_t micros) {
  int64_t secs = micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000;
  int64_t frac = micros - secs * 1000000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (frac != 0) {
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
    out += buf;
  }
  return out;
}

}  // namespace

std::string EncodeMessage(const Notification& n, std::string_view publisher_id, const MessageIds& ids,
                          int64_t micros, bool envelope) {
  nlohmann::json msg = {{"message_id", ids.message_id},
                        {"publisher_id", publisher_id},
                        {"event_type", n.event_type},
                        {"priority", PriorityName(n.priority)},
                        {"payload", n.payload},
                        {"timestamp", PythonTimestamp(micros)},
                        {"_unique_id", ids.unique_id}};
  // Replacement characters instead of an exception for bytes that are not UTF-8 (image
  // names and properties are client text).
  std::string inner = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!envelope) return inner;
  return nlohmann::json({{"oslo.version", "2.0"}, {"oslo.message", inner}}).dump();
}

std::string RoutingKey(std::string_view topic, Priority p) {
  std::string key(topic);
  key += '.';
  for (char c : PriorityName(p)) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

}  // namespace glint::notify
