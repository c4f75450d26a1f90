// The image API's events, as Glance announces them (notify/ sends them): the payload of
// each kind (images, members, tasks, downloads) and one call per event. Every call is a
// no-op when notifications are off (ApiContext::notifier is null) and never fails or
// blocks the request that causes it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "catalog/image_record.h"
#include "control/api_context.h"

namespace glint::control {

// A payload field from an optional value: null when unset, as Glance sends None.
template <typename T>
nlohmann::json OrNull(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

// Glance's payloads. Images carry every custom property (consumers are services), never
// locations (they may hold credentials); tasks never carry their input.
nlohmann::json ImagePayload(const catalog::ImageRecord& img);
nlohmann::json MemberPayload(const catalog::ImageMember& m);
nlohmann::json TaskPayload(const catalog::TaskRecord& t);

// image.create, image.update, image.delete (`deleted`), image.prepare, image.upload,
// image.activate. prepare and upload also carry the import bookkeeping lists.
void NotifyImage(const ApiContext& api, std::string_view event, const catalog::ImageRecord& img);
// The image as the catalog has it now (after an upload or import changed it).
void NotifyImageNow(const ApiContext& api, std::string_view event, const std::string& image_id);
// A failed upload: Glance sends image.upload at error priority with the message as payload.
void NotifyUploadError(const ApiContext& api, const std::string& message);
// image.send, once a download ends: error priority when fewer bytes went than were due.
void NotifySend(const ApiContext& api, const catalog::ImageRecord& img, const auth::RequestContext& reader,
                int64_t sent, int64_t due);
// image.member.create, image.member.update, image.member.delete.
void NotifyMember(const ApiContext& api, std::string_view event, const catalog::ImageMember& m);
// task.create, task.run, task.processing, task.success, task.failure, for the task as the
// catalog has it now.
void NotifyTask(const ApiContext& api, std::string_view event, const std::string& task_id);

}  // namespace glint::control
