#include "cli/ops_service.h"

#include "cli/parse_duration.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

OpsService::OpsService(OpsContext context)
    : context_(std::move(context)),
      probe_(context_.primary ? std::make_unique<PrimaryProbe>(context_.primary, context_.prefix)
                              : nullptr) {
  RegisterShadowOps(*this);
  RegisterWarmupOps(*this);
  RegisterStatusOps(*this, probe_.get());
}

OpsService::~OpsService() = default;

void OpsService::Register(std::string op, Handler handler) {
  handlers_[std::move(op)] = std::move(handler);
}

Json OpsService::Handle(const Json& request, const Progress& progress) {
  auto error = [](const std::string& message) { return Json{{"ok", false}, {"error", message}}; };
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string()) {
    return error("malformed request: expected {\"op\": \"...\", \"args\": {...}}");
  }
  const std::string op = request["op"].get<std::string>();
  auto it = handlers_.find(op);
  if (it == handlers_.end()) return error("unknown op '" + op + "'");
  Json args = request.value("args", Json::object());
  if (!args.is_object()) return error("malformed request: \"args\" must be an object");
  Progress report = progress ? progress : [](const Json&) { return true; };
  try {
    Result<Json> result = it->second(args, report);
    if (!result.ok()) return error(result.status().message());
    return Json{{"ok", true}, {"result", std::move(*result)}};
  } catch (const Json::exception& e) {
    // A request whose args have the wrong types (json::at / get throw): the requester's mistake.
    return error("malformed arguments for '" + op + "': " + e.what());
  }
}

namespace ops {

Result<std::string> KeyOf(const OpsContext& context, const Json& args) {
  if (args.contains("key")) return args.at("key").get<std::string>();
  std::string path = args.value("path", std::string());
  while (path.starts_with("/")) path.erase(0, 1);
  while (path.ends_with("/")) path.pop_back();
  if (path == "." || path.starts_with("../") || path.find("/../") != std::string::npos ||
      path == "..") {
    return Status::InvalidArgument("bad path '" + path + "': name a path inside the mount");
  }
  return context.prefix + path;
}

Json ShadowJson(const OpsContext& context, const shadow::ShadowInfo& info) {
  auto time = [](base::WallTime t) {
    return t == base::WallTime{} ? Json(nullptr) : Json(FormatTime(t));
  };
  std::string path = info.key;
  if (!context.prefix.empty() && path.starts_with(context.prefix)) {
    path = path.substr(context.prefix.size());
  }
  return Json{
      {"key", info.key},
      {"path", path},
      {"etag", info.etag},
      {"size", info.size},
      {"bytes_stored", info.bytes_stored},
      {"ratio", info.size == 0 ? Json(nullptr)
                               : Json(static_cast<double>(info.bytes_stored) /
                                      static_cast<double>(info.size))},
      {"confidence", info.confidence},
      {"valid_from", time(info.valid_from)},
      {"expires", time(info.expires_at)},
      {"last_verified", time(info.last_verified)},
      {"last_access", time(info.last_access)},
      {"created", time(info.created)},
      {"origin", std::string(shadow::OriginName(info.origin))},
      {"pinned", info.pinned},
      {"hits", info.hits},
      {"complete", info.complete()},
      {"chunks_present", info.chunks_present},
      {"chunk_count", info.chunk_count},
  };
}

std::vector<shadow::ShadowInfo> ShadowsAt(const OpsContext& context, const std::string& key) {
  if (key.empty() || key == context.prefix || key.ends_with("/")) return context.store->List(key);
  std::vector<shadow::ShadowInfo> out;
  if (auto one = context.store->Find(key)) out.push_back(std::move(*one));
  for (auto& info : context.store->List(key + "/")) out.push_back(std::move(info));
  return out;
}

}  // namespace ops

}  // namespace shadowfs::cli
