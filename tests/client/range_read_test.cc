// client::ReadRange against a scripted HttpClient: only a 206 for the asked range is
// accepted, a broken body resumes from the first missing byte, and nothing wrong is ever
// returned as success.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>

#include "client/http_client.h"

namespace glint::client {
namespace {

// What the fake server does with the next request.
struct Reply {
  int status = 206;
  int64_t first = -1;          // Content-Range start; -1: as asked
  int64_t last = -1;           // Content-Range end; -1: as asked
  size_t break_after = SIZE_MAX;  // bytes sent before the connection breaks
  bool omit_content_range = false;
};

class ScriptedClient final : public HttpClient {
 public:
  explicit ScriptedClient(std::string data) : data_(std::move(data)) {}
  std::deque<Reply> replies;
  std::vector<std::string> ranges_asked;

  Result<ClientResponse> Request(const std::string&, const std::string&, const HeaderList&,
                                 const std::string&) override {
    return Status::Internal("unused");
  }
  Result<ClientResponse> Upload(const std::string&, const std::string&, const HeaderList&, uint64_t,
                                const std::function<Result<size_t>(char*, size_t)>&) override {
    return Status::Internal("unused");
  }
  Result<ClientResponse> Download(const std::string&, const HeaderList& headers,
                                  const std::function<Status(const char*, size_t)>& sink,
                                  const std::function<Status(const ClientResponse&)>& on_head) override {
    std::string range;
    for (const auto& [k, v] : headers) {
      if (k == "Range") range = v;
    }
    ranges_asked.push_back(range);
    Reply reply = replies.empty() ? Reply{} : replies.front();
    if (!replies.empty()) replies.pop_front();
    int64_t from = std::stoll(range.substr(6)), to = std::stoll(range.substr(range.find('-') + 1));
    to = std::min<int64_t>(to, static_cast<int64_t>(data_.size()) - 1);
    int64_t first = reply.first >= 0 ? reply.first : from, last = reply.last >= 0 ? reply.last : to;
    ClientResponse head;
    head.status = reply.status;
    if (reply.status == 206 && !reply.omit_content_range) {
      head.headers.emplace_back("content-range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                                     std::to_string(data_.size()));
    }
    if (on_head) GLINT_RETURN_IF_ERROR(on_head(head));
    std::string body = reply.status == 200 ? data_ : data_.substr(first, last - first + 1);
    size_t n = std::min(body.size(), reply.break_after);
    if (n > 0) GLINT_RETURN_IF_ERROR(sink(body.data(), n));
    if (n < body.size()) return Status::Unavailable("connection broke");
    return head;
  }

 private:
  std::string data_;
};

std::string Data() {
  std::string d(10000, '\0');
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<char>(i * 7 + 3);
  return d;
}

TEST(ReadRange, ReadsExactlyTheAskedBytes) {
  ScriptedClient c(Data());
  std::string buf(100, '\0');
  auto n = ReadRange(c, "/f", {}, 500, buf.data(), buf.size());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(buf, Data().substr(500, 100));
  EXPECT_EQ(c.ranges_asked, (std::vector<std::string>{"bytes=500-599"}));
}

TEST(ReadRange, A200ToARangedReadIsAnError) {
  ScriptedClient c(Data());
  c.replies.push_back({200});
  std::string buf(100, '\0');
  auto n = ReadRange(c, "/f", {}, 500, buf.data(), buf.size());
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(buf, std::string(100, '\0')) << "not one byte of the whole resource reached the caller";
}

TEST(ReadRange, AWrongOrMissingContentRangeIsAnError) {
  for (Reply bad : {Reply{206, 0, 99}, Reply{206, 500, 700}, Reply{206, -1, -1, SIZE_MAX, true}}) {
    ScriptedClient c(Data());
    c.replies.push_back(bad);
    std::string buf(100, '\0');
    EXPECT_FALSE(ReadRange(c, "/f", {}, 500, buf.data(), buf.size()).ok());
  }
}

TEST(ReadRange, ABrokenBodyResumesFromTheFirstMissingByte) {
  ScriptedClient c(Data());
  c.replies.push_back({206, -1, -1, 30});
  c.replies.push_back({206, -1, -1, 25});
  std::string buf(100, '\0');
  auto n = ReadRange(c, "/f", {}, 500, buf.data(), buf.size());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(buf, Data().substr(500, 100));
  EXPECT_EQ(c.ranges_asked, (std::vector<std::string>{"bytes=500-599", "bytes=530-599", "bytes=555-599"}));
}

TEST(ReadRange, APeerThatKeepsBreakingWithoutProgressFails) {
  ScriptedClient c(Data());
  for (int i = 0; i < 10; ++i) c.replies.push_back({206, -1, -1, 0});
  std::string buf(100, '\0');
  auto n = ReadRange(c, "/f", {}, 500, buf.data(), buf.size());
  EXPECT_EQ(n.status().code(), Status::Code::kUnavailable);
  EXPECT_LE(c.ranges_asked.size(), 5u);
}

TEST(ReadRange, TheEndOfTheResourceShortensTheRead) {
  ScriptedClient c(Data());
  std::string buf(100, '\0');
  auto n = ReadRange(c, "/f", {}, 9950, buf.data(), buf.size());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 50u);
  EXPECT_EQ(buf.substr(0, 50), Data().substr(9950));
}

}  // namespace
}  // namespace glint::client
