// The image cache of an API node (Glance's cache API, /v2/cache, image API 2.14+): list
// what it holds and has queued, queue an image for prefetching, remove one, clear it.
// Named as in later glanceclients (Debian's 4.1 has no cache commands). Each API node has
// a cache and a queue of its own: point --os-image-url at the node itself, not at a load
// balancer. The glint-fs host cache has its own commands (cache-pin, cache-status, ...).
#include <ctime>

#include "cli/commands.h"
#include "cli/output.h"

namespace glint::cli {
namespace {

std::string Time(const json& seconds) {
  if (!seconds.is_number()) return Cell(seconds);
  std::time_t t = static_cast<std::time_t>(seconds.get<double>());
  char buf[32];
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void List(const Globals& g) {
  json state = Api(g).Call("GET", "/v2/cache");
  std::vector<std::vector<std::string>> cached, queued;
  for (const auto& c : state.value("cached_images", json::array())) {
    cached.push_back({Cell(c["image_id"]), Time(c["last_accessed"]), Time(c["last_modified"]), Cell(c["size"]),
                      Cell(c["hits"])});
  }
  for (const auto& id : state.value("queued_images", json::array())) queued.push_back({Cell(id)});
  PrintTable({"ID", "State", "Last Accessed (UTC)", "Last Modified (UTC)", "Size", "Hits"}, [&] {
    std::vector<std::vector<std::string>> rows;
    for (const auto& q : queued) rows.push_back({q[0], "queued", "", "", "", ""});
    for (const auto& c : cached) rows.push_back({c[0], "cached", c[1], c[2], c[3], c[4]});
    return rows;
  }());
}

}  // namespace

void AddImageCacheCommands(CLI::App& app, Globals& g) {
  app.add_subcommand("cache-list", "list the images an API node has cached and queued for caching")->callback([&] {
    List(g);
  });
  static std::string queue_id, delete_id, clear_target;
  auto* queue = app.add_subcommand("cache-queue", "queue an active image for caching on the API node");
  queue->add_option("id", queue_id, "image id")->required();
  queue->callback([&] { Api(g).Call("PUT", "/v2/cache/" + queue_id); });
  auto* del = app.add_subcommand("cache-delete", "remove an image from the API node's cache and queue");
  del->add_option("id", delete_id, "image id")->required();
  del->callback([&] { Api(g).Call("DELETE", "/v2/cache/" + delete_id); });
  auto* clear = app.add_subcommand("cache-clear", "empty the API node's cache and queue (or one of them)");
  clear->add_option("--target", clear_target, "cache or queue (default: both)")->check(CLI::IsMember({"cache", "queue"}));
  clear->callback([&] {
    client::HeaderList h;
    if (!clear_target.empty()) h.emplace_back("x-image-cache-clear-target", clear_target);
    Api(g).Call("DELETE", "/v2/cache", nullptr, "application/json", nullptr, h);
  });
}

}  // namespace glint::cli
