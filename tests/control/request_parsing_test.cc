// The request parsers of the image API, without a server: Range headers, JSON bodies
// (size and depth limits), list queries, JSON-patch operations and the route table.
#include <gtest/gtest.h>

#include "control/byte_range.h"
#include "control/http_errors.h"
#include "control/json_body.h"
#include "control/json_patch.h"
#include "control/list_query.h"
#include "control/router.h"

namespace glint::control {
namespace {

std::optional<ByteRange> RangeOf(const std::string& h, int64_t size) {
  auto r = ParseByteRange(h, size);
  EXPECT_TRUE(r.ok()) << h << ": " << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

Status::Code RangeError(const std::string& h, int64_t size) { return ParseByteRange(h, size).status().code(); }

TEST(ByteRange, TheThreeFormsAndTheEnd) {
  EXPECT_FALSE(RangeOf("", 100).has_value());
  auto r = RangeOf("bytes=10-19", 100);
  EXPECT_EQ(r->first, 10);
  EXPECT_EQ(r->last, 19);
  r = RangeOf("bytes=90-", 100);
  EXPECT_EQ(r->last, 99);
  r = RangeOf("bytes=-10", 100);
  EXPECT_EQ(r->first, 90);
  r = RangeOf("bytes=-1000", 100);
  EXPECT_EQ(r->first, 0);
  EXPECT_EQ(r->length(), 100);
}

TEST(ByteRange, NumbersBeyond64BitsAreReadExactly) {
  auto r = RangeOf("bytes=5-184467440737095516160000", 100);
  EXPECT_EQ(r->last, 99) << "a last byte past the end means to the end";
  r = RangeOf("bytes=0-9223372036854775807", 100);
  EXPECT_EQ(r->last, 99);
  EXPECT_EQ(RangeError("bytes=184467440737095516160000-", 100), Status::Code::kRangeNotSatisfiable);
  EXPECT_EQ(RangeError("bytes=-0", 100), Status::Code::kRangeNotSatisfiable);
  r = RangeOf("bytes=-99999999999999999999999", 100);
  EXPECT_EQ(r->first, 0);
}

TEST(ByteRange, MalformedAndSeveralRanges) {
  for (const char* h : {"bytes=100-", "bytes=5-4", "bytes=a-b", "bytes=", "bytes=1", "items=0-1", "bytes=--1",
                        "bytes=+1-2", "bytes=1-+2", "bytes= 1 - 2"}) {
    EXPECT_EQ(RangeError(h, 100), Status::Code::kRangeNotSatisfiable) << h;
  }
  EXPECT_EQ(RangeError("bytes=0-1,5-6", 100), Status::Code::kInvalidArgument);
  EXPECT_EQ(RangeError("bytes=-5", 0), Status::Code::kRangeNotSatisfiable) << "nothing to take from an empty image";
}

TEST(JsonBody, DepthAndSizeLimitsComeBeforeParsing) {
  EXPECT_TRUE(ParseJsonBody("{\"a\": [1, {\"b\": \"[[[[\"}]}").ok()) << "brackets in strings do not count";
  std::string deep = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJsonBody(deep).ok());
  std::string deeper = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_EQ(ParseJsonBody(deeper).status().code(), Status::Code::kInvalidArgument);
  std::string huge = std::string(500000, '[');  // deep and malformed: refused without parsing
  EXPECT_EQ(ParseJsonBody(huge).status().code(), Status::Code::kInvalidArgument);
  std::string big = "\"" + std::string(kMaxJsonBytes, 'x') + "\"";
  EXPECT_EQ(ParseJsonBody(big).status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(ParseJsonBody("{\"a\": \"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}").status().code(), Status::Code::kOk)
      << "escaped quotes do not end a string";
}

TEST(ErrorBody, AlwaysValidJsonAndBounded) {
  std::string nasty = std::string("\xff\xfe\xc3", 3) + std::string(5000, 'x') + "\xe2\x82";
  HttpResponse r = ErrorResponse(Status::InvalidArgument(nasty));
  EXPECT_EQ(r.status, 400);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], 400);
  EXPECT_LE(body["error"]["message"].get<std::string>().size(), kMaxErrorMessage + 16);
  EXPECT_EQ(ErrorResponse(Status::MethodNotAllowed("m")).status, 405);
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(ErrorBody, RateLimitIs429WithRetryAfter) {
  HttpResponse r = ErrorResponse(Status::TooManyRequests("report again later", 42).Prefixed("boot set: "));
  EXPECT_EQ(r.status, 429);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], 429);
  EXPECT_EQ(body["error"]["title"], "Too Many Requests");
  EXPECT_EQ(body["error"]["message"], "boot set: report again later");
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "42") << "kept through Prefixed";
  EXPECT_EQ(HeaderOf(ErrorResponse(Status::TooManyRequests("later")), "Retry-After"), "") << "unknown: no header";
  EXPECT_EQ(HeaderOf(ErrorResponse(Status::Conflict("busy")), "Retry-After"), "");
  EXPECT_EQ(Status::TooManyRequests("x", 3).ToString(), "TooManyRequests: x");
}

TEST(ListQuery, SortsFiltersAndLimits) {
  auto q = ParseListQuery({{"limit", "5"}, {"sort", "name:asc,size"}, {"name", "in:a,\"b,c\""}, {"tag", "t"}}, 25, 1000);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->limit, 5);
  ASSERT_EQ(q->sort.size(), 2u);
  EXPECT_TRUE(q->sort[0].ascending);
  EXPECT_FALSE(q->sort[1].ascending);
  ASSERT_EQ(q->filters.size(), 1u);
  EXPECT_EQ(q->filters[0].values, (std::vector<std::string>{"a", "b,c"}));
  EXPECT_EQ(ParseListQuery({{"limit", "99999999999999999999999"}}, 25, 1000)->limit, 1000);
  EXPECT_EQ(ParseListQuery({}, 25, 1000)->limit, 25);
  for (const QueryParams& bad : std::vector<QueryParams>{{{"limit", "-1"}}, {{"limit", "x"}},
                                                         {{"sort_key", "bogus"}}, {{"sort", "name:up"}},
                                                         {{"sort", "name"}, {"sort_key", "size"}},
                                                         {{"marker", "not-a-uuid"}}, {{"created_at", "gt:yesterday"}},
                                                         {{"size_min", "-5"}}, {{"protected", "maybe"}}}) {
    EXPECT_EQ(ParseListQuery(bad, 25, 1000).status().code(), Status::Code::kInvalidArgument) << bad[0].first;
  }
}

// A listing takes at most 100 filters (tags, custom properties and field filters together)
// and 1,000 values in an `in:` list; beyond that a 400, never a query the catalog refuses.
TEST(ListQuery, FiltersAndInValuesAreBounded) {
  for (const char* kind : {"tag", "property", "field"}) {
    QueryParams params;
    for (int i = 0; i < 100; ++i) {
      std::string v = "v" + std::to_string(i);
      if (std::string(kind) == "tag") params.emplace_back("tag", v);
      if (std::string(kind) == "property") params.emplace_back("p" + std::to_string(i), v);
      if (std::string(kind) == "field") params.emplace_back("name", v);
    }
    EXPECT_TRUE(ParseListQuery(params, 25, 1000).ok()) << kind;
    params.emplace_back("tag", "one-more");
    auto q = ParseListQuery(params, 25, 1000);
    EXPECT_EQ(q.status().code(), Status::Code::kInvalidArgument) << kind;
    EXPECT_NE(q.status().message().find("Too many filters"), std::string::npos) << q.status().ToString();
  }
  std::string in = "in:";
  for (int i = 0; i < 1000; ++i) in += (i ? "," : "") + std::to_string(i);
  EXPECT_TRUE(ParseListQuery({{"name", in}}, 25, 1000).ok());
  EXPECT_EQ(ParseListQuery({{"id", in + ",1000"}}, 25, 1000).status().code(), Status::Code::kInvalidArgument);
}

TEST(JsonPatch, DialectsPointersAndForbiddenKeys) {
  EXPECT_EQ(*PatchDialectOf("application/openstack-images-v2.1-json-patch; charset=utf-8"), PatchDialect::kV21);
  EXPECT_EQ(PatchDialectOf("application/json").status().code(), Status::Code::kUnsupportedMedia);
  using nlohmann::json;
  auto ch = ParsePatchChange(json{{"op", "add"}, {"path", "/a~1b~0c"}, {"value", "v"}}, PatchDialect::kV21, false);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->root, "a/b~c");
  ch = ParsePatchChange(json{{"replace", "/name"}, {"value", "n"}}, PatchDialect::kV20, false);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->op, "replace");
  EXPECT_EQ(ParsePatchChange(json{{"op", "add"}, {"path", "/status"}, {"value", "x"}}, PatchDialect::kV21, true)
                .status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(ParsePatchChange(json{{"op", "add"}, {"path", "/owner"}, {"value", "x"}}, PatchDialect::kV21, false)
                .status().code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(ParsePatchChange(json{{"op", "move"}, {"path", "/a"}}, PatchDialect::kV21, false).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePatchChange(json{{"op", "add"}, {"path", "/a/b"}, {"value", 1}}, PatchDialect::kV21, false)
                .status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePatchChange(json{{"op", "add"}, {"path", "/a~2"}, {"value", 1}}, PatchDialect::kV21, false)
                .status().code(), Status::Code::kInvalidArgument);
}

TEST(Router, TableMatchesParametersAndMethods) {
  Router r;
  r.Add("GET", "/v2/images/{id}", [](const Call&) -> Result<HttpResponse> { return EmptyResponse(200); });
  r.Add("DELETE", "/v2/images/{id}", [](const Call&) -> Result<HttpResponse> { return EmptyResponse(204); });
  r.Add("GET", "/v2/schemas/{rest}", [](const Call&) -> Result<HttpResponse> { return EmptyResponse(200); });
  r.Add("DELETE", "/v2/stores/{arg}/{id}", [](const Call&) -> Result<HttpResponse> { return EmptyResponse(204); });
  auto m = r.Find("GET", "/v2/images/abc");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.id, "abc");
  m = r.Find("PUT", "/v2/images/abc");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "DELETE"}));
  m = r.Find("GET", "/v2/schemas/metadefs/namespace");
  EXPECT_EQ(m.arg, "metadefs/namespace");
  m = r.Find("DELETE", "/v2/stores/fast/xyz");
  EXPECT_EQ(m.arg, "fast");
  EXPECT_EQ(m.id, "xyz");
  EXPECT_TRUE(r.Find("GET", "/v2/images/abc/extra").allowed.empty());
  std::string v2;
  EXPECT_EQ(ClassifyPath("/v2.15/images", false, &v2), PathKind::kTable);
  EXPECT_EQ(v2, "/v2/images");
  EXPECT_EQ(ClassifyPath("/v2.8/images", false, &v2), PathKind::kRoot) << "2.8 only with multi-store";
  EXPECT_EQ(ClassifyPath("/v2.8/images", true, &v2), PathKind::kTable);
  EXPECT_EQ(ClassifyPath("/v2", false, &v2), PathKind::kV2Redirect);
  EXPECT_EQ(ClassifyPath("/v2/images/", false, &v2), PathKind::kNotFound);
  EXPECT_EQ(ClassifyPath("/v3/x", false, &v2), PathKind::kRoot);
  EXPECT_EQ(ClassifyPath("/v2.16/cache", false, &v2), PathKind::kRoot) << "2.14 and 2.16 only with the image cache";
  EXPECT_EQ(ClassifyPath("/v2.16/cache", false, &v2, true), PathKind::kTable);
  EXPECT_EQ(v2, "/v2/cache");
  EXPECT_EQ(ClassifyPath("/v2.14/cache", false, &v2, true), PathKind::kTable);
}

}  // namespace
}  // namespace glint::control
