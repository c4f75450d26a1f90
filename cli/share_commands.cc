// Tags, (de)activation and image members (sharing).
#include "cli/commands.h"
#include "cli/output.h"
#include "common/ids.h"

namespace glint::cli {

void AddTagActionCommands(CLI::App& app, Globals& g) {
  static std::string tag_id, tag_value;
  auto* tag_update = app.add_subcommand("image-tag-update", "add a tag to an image");
  tag_update->add_option("id", tag_id, "image id")->required();
  tag_update->add_option("tag", tag_value, "tag")->required();
  tag_update->callback([&] { Api(g).Call("PUT", "/v2/images/" + tag_id + "/tags/" + PercentEncode(tag_value)); });
  auto* tag_delete = app.add_subcommand("image-tag-delete", "remove a tag from an image");
  tag_delete->add_option("id", tag_id, "image id")->required();
  tag_delete->add_option("tag", tag_value, "tag")->required();
  tag_delete->callback([&] { Api(g).Call("DELETE", "/v2/images/" + tag_id + "/tags/" + PercentEncode(tag_value)); });

  static std::string act_id;
  auto* deact = app.add_subcommand("image-deactivate", "deactivate an image");
  deact->add_option("id", act_id, "image id")->required();
  deact->callback([&] { Api(g).Call("POST", "/v2/images/" + act_id + "/actions/deactivate"); });
  auto* react = app.add_subcommand("image-reactivate", "reactivate an image");
  react->add_option("id", act_id, "image id")->required();
  react->callback([&] { Api(g).Call("POST", "/v2/images/" + act_id + "/actions/reactivate"); });
}

void AddMemberCommands(CLI::App& app, Globals& g) {
  static std::string mem_image, mem_member, mem_status;
  static const auto members_table = [](const json& members) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : members) rows.push_back({Cell(m["image_id"]), Cell(m["member_id"]), Cell(m["status"])});
    PrintTable({"Image ID", "Member ID", "Status"}, rows);
  };
  auto* mem_list = app.add_subcommand("member-list", "list the projects an image is shared with");
  mem_list->add_option("--image-id", mem_image, "image id")->required();
  mem_list->callback([&] { members_table(Api(g).Call("GET", "/v2/images/" + mem_image + "/members")["members"]); });
  auto* mem_create = app.add_subcommand("member-create", "share an image with a project");
  mem_create->add_option("image_id", mem_image, "image id")->required();
  mem_create->add_option("member_id", mem_member, "project id")->required();
  mem_create->callback([&] {
    json body = {{"member", mem_member}};
    members_table(json::array({Api(g).Call("POST", "/v2/images/" + mem_image + "/members", &body)}));
  });
  auto* mem_update = app.add_subcommand("member-update", "accept or reject an image shared with you");
  mem_update->add_option("image_id", mem_image, "image id")->required();
  mem_update->add_option("member_id", mem_member, "project id")->required();
  mem_update->add_option("member_status", mem_status, "accepted, rejected or pending")->required();
  mem_update->callback([&] {
    json body = {{"status", mem_status}};
    members_table(json::array(
        {Api(g).Call("PUT", "/v2/images/" + mem_image + "/members/" + PercentEncode(mem_member), &body)}));
  });
  auto* mem_delete = app.add_subcommand("member-delete", "stop sharing an image with a project");
  mem_delete->add_option("image_id", mem_image, "image id")->required();
  mem_delete->add_option("member_id", mem_member, "project id")->required();
  mem_delete->callback([&] { Api(g).Call("DELETE", "/v2/images/" + mem_image + "/members/" + PercentEncode(mem_member)); });
}

}  // namespace glint::cli
