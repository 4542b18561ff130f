// Engine::Create with the standard experts, in its own file so that programs and tests that bring
// their own experts (CreateWithExperts) do not link them.
#include "predict/engine.h"
#include "predict/experts/all.h"

namespace shadowfs::predict {

Engine::ExpertFactory StandardExperts(const EngineOptions& options) {
  ExpertsOptions experts;
  experts.horizon = options.horizon;
  experts.sequential_max = options.max_request_bytes;
  return
      [experts](KeyTable* keys, NamespaceView* names) { return MakeExperts(experts, keys, names); };
}

base::Result<std::unique_ptr<Engine>> Engine::Create(EngineOptions options, EngineDeps deps) {
  Engine::ExpertFactory experts = StandardExperts(options);
  return CreateWithExperts(std::move(options), deps, experts);
}

}  // namespace shadowfs::predict
