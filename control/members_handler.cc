#include "control/members_handler.h"

#include "control/image_json.h"
#include "control/json_body.h"
#include "control/notifications.h"

namespace glint::control {

using nlohmann::json;

Result<HttpResponse> MembersHandler::List(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const std::string& id = call.id;
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (img->visibility != "shared") return Status::PermissionDenied("Only shared images have members.");
  if (Status p = access_.PolicyOn("get_members", ctx, *img); !p.ok()) return p;
  auto members = api_.catalog.ListMembers(img->id);
  if (!members.ok()) return members.status();
  json list = json::array();
  bool owner = ImageAccess::MayModify(ctx, *img).ok();
  for (const auto& m : *members) {
    if (owner || (ctx.project_id && m.member == *ctx.project_id)) list.push_back(MemberJson(m));
  }
  return JsonResponse(200, {{"members", list}, {"schema", "/v2/schemas/members"}});
}

Result<HttpResponse> MembersHandler::Add(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const HttpRequest& req = call.req;
  const std::string& id = call.id;
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  Status may = ImageAccess::MayModify(ctx, *img);
  if (!may.ok()) return Status::PermissionDenied("You are not permitted to add members to image " + img->id + ".");
  if (Status p = access_.PolicyOn("add_member", ctx, *img); !p.ok()) return p;
  if (img->visibility != "shared") {
    return Status::PermissionDenied("Image " + img->id + " is not shared: only shared images have members.");
  }
  auto parsed = ParseJsonBody(req.body);
  if (!parsed.ok()) return parsed.status();
  const json& body = *parsed;
  if (!body.is_object() || !body.contains("member") || !body["member"].is_string() ||
      body["member"].get<std::string>().empty() || body["member"].get<std::string>().size() > 255) {
    return Status::InvalidArgument("Request body must be {\"member\": \"<project id>\"}.");
  }
  auto existing = api_.catalog.ListMembers(img->id);
  if (!existing.ok()) return existing.status();
  if (static_cast<int>(existing->size()) >= api_.config.image_member_quota) {
    return Status::TooLarge("Maximum number of image members exceeded (" +
                                  std::to_string(api_.config.image_member_quota) + ")");
  }
  catalog::ImageMember m{img->id, body["member"].get<std::string>(), "pending", api_.Now(), api_.Now()};
  Status s = api_.catalog.AddMember(m);
  if (!s.ok()) return s;
  NotifyMember(api_, "image.member.create", m);
  return JsonResponse(200, MemberJson(m));
}

Result<HttpResponse> MembersHandler::One(const Call& call) {
  const auth::RequestContext& ctx = call.ctx;
  const HttpRequest& req = call.req;
  const std::string& id = call.id;
  const std::string& member = call.arg;
  auto img = access_.Visible(ctx, id);
  if (!img.ok()) return img.status();
  if (img->visibility != "shared") return Status::PermissionDenied("Only shared images have members.");
  bool owner = ImageAccess::MayModify(ctx, *img).ok();
  bool self = ctx.project_id && *ctx.project_id == member;
  auto m = api_.catalog.GetMember(img->id, member);
  if (!m.ok() || (!owner && !self)) {
    return Status::NotFound("Member " + member + " not found for image " + img->id);
  }
  auth::PolicyTarget mt = access_.Target(ctx, *img, member);
  if (req.method == "GET") {
    if (Status p = access_.Policy("get_member", ctx, mt); !p.ok()) return p;
    return JsonResponse(200, MemberJson(*m));
  }
  if (req.method == "DELETE") {
    if (!owner) return Status::PermissionDenied("You are not permitted to remove members of image " + img->id + ".");
    if (Status p = access_.Policy("delete_member", ctx, mt); !p.ok()) return p;
    Status s = api_.catalog.DeleteMember(img->id, member);
    if (!s.ok()) return s;
    NotifyMember(api_, "image.member.delete", *m);
    return EmptyResponse(204);
  }
  if (!self && !ctx.is_admin) {
    return Status::PermissionDenied("Only the member " + member + " may change its membership status.");
  }
  if (Status p = access_.Policy("modify_member", ctx, mt); !p.ok()) return p;
  auto parsed = ParseJsonBody(req.body);
  if (!parsed.ok()) return parsed.status();
  const json& body = *parsed;
  std::string status = body.is_object() && body.contains("status") && body["status"].is_string()
                           ? body["status"].get<std::string>() : "";
  if (status != "pending" && status != "accepted" && status != "rejected") {
    return Status::InvalidArgument("Status must be one of pending, accepted, rejected.");
  }
  Status s = api_.catalog.UpdateMemberStatus(img->id, member, status);
  if (!s.ok()) return s;
  auto updated = api_.catalog.GetMember(img->id, member);
  if (!updated.ok()) return updated.status();
  NotifyMember(api_, "image.member.update", *updated);
  return JsonResponse(200, MemberJson(*updated));
}

}  // namespace glint::control
