// The op behind `shadowfs predict show` on a running mount: the engine's top predictions under
// the path named (the whole mount by default).
#include <algorithm>

#include "cli/ops_service.h"
#include "cli/prediction.h"

namespace shadowfs::cli {

void RegisterPredictOps(OpsService& service, predict::Engine* engine) {
  const OpsContext* context = &service.context();
  service.Register(
      "predict.show",
      [context, engine](const Json& args, const OpsService::Progress&) -> base::Result<Json> {
        SHADOWFS_ASSIGN_OR_RETURN(std::string prefix, ops::KeyOf(*context, args));
        size_t limit = std::clamp<size_t>(args.value("limit", size_t{20}), 1, 1000);
        return PredictionsJson(engine->Top(prefix, limit));
      });
}

}  // namespace shadowfs::cli
