// The engine's persistence and queries (Save, Top, accounting, metrics); the access path is in
// engine.cc.
#include <algorithm>
#include <cstdio>

#include "predict/engine_impl.h"

namespace shadowfs::predict {

void Engine::Impl::LoadState() {
  base::Logger& log = *deps.runtime.logger;
  if (options.state_path.empty()) return;
  base::Result<EngineState> state = LoadEngineState(options.state_path);
  if (!state.ok()) {
    if (state.status().IsNotFound()) return;
    base::LogStream(log, base::LogLevel::kWarning)
        << "prediction state ignored, starting afresh: " << state.status().ToString();
    // Move it aside so the next save starts a clean file (and the bad one can be inspected).
    std::string aside = options.state_path + ".bad";
    if (std::rename(options.state_path.c_str(), aside.c_str()) != 0) {
      std::remove(options.state_path.c_str());
    }
    return;
  }
  auto intern = [this](std::string_view name)
                    NO_THREAD_SAFETY_ANALYSIS { return keys->Intern(name); };
  for (const auto& [name, blob] : state->experts) {
    if (name == experts::ReadShapes::kStateName) {
      base::Status st = shapes.Load(blob);
      if (!st.ok()) {
        base::LogStream(log, base::LogLevel::kWarning)
            << "prediction state of the read shapes ignored: " << st.ToString();
      }
    }
    for (auto& e : experts) {
      if (e->name() != name) continue;
      base::Status st = e->Load(blob, intern);
      if (!st.ok()) {
        base::LogStream(log, base::LogLevel::kWarning)
            << "prediction state of expert " << name << " ignored: " << st.ToString();
      }
    }
  }
  if (!state->learner.empty()) {
    base::Status st = learner.Load(state->learner);
    if (!st.ok()) {
      base::LogStream(log, base::LogLevel::kWarning)
          << "prediction state of the learner ignored: " << st.ToString();
    }
  }
  if (state->threshold >= 0) planner.set_threshold(state->threshold);
}

EngineState Engine::Impl::CollectState() const {
  EngineState state;
  auto name_of = [this](KeyId id) NO_THREAD_SAFETY_ANALYSIS { return keys->Name(id); };
  for (const auto& e : experts)
    state.experts.emplace_back(std::string(e->name()), e->Save(name_of));
  state.experts.emplace_back(std::string(experts::ReadShapes::kStateName), shapes.Save());
  state.learner = learner.Save();
  state.threshold = planner.threshold();
  return state;
}

uint64_t Engine::Impl::MemoryBytes() const {
  uint64_t bytes = sizeof(*this) + keys->MemoryBytes() + planner.MemoryBytes() +
                   accountant.MemoryBytes() + labels.MemoryBytes() + shapes.MemoryBytes();
  for (const auto& e : experts) bytes += e->MemoryBytes();
  for (const auto& [name, id] : processes) bytes += 48 + name.capacity();
  return bytes + in_flight.size() * 96;
}

void Engine::Impl::ExportGauges() {
  base::MetricsRegistry* metrics = deps.runtime.metrics;
  if (metrics == nullptr) return;
  accountant.ExportMetrics(metrics);
  Accounting a = accountant.Snapshot();
  auto gauge = [&](const char* name, const char* help, double v) {
    metrics->GetGauge(name, help).Set(v);
  };
  gauge("shadowfs_predict_precision", "Prefetched bytes read within the horizon / outcomes",
        a.overall.precision());
  gauge("shadowfs_predict_coverage", "Reads served from prefetched shadows / reads", a.coverage());
  gauge("shadowfs_predict_calibration_error", "Expected calibration error of the learner",
        learner.CalibrationError());
  gauge("shadowfs_predict_calibration_labels",
        "Labelled predictions (decayed) the calibration error rests on; 0: none yet",
        learner.CalibrationLabels());
  gauge("shadowfs_predict_threshold", "The planner's probability threshold", planner.threshold());
  gauge("shadowfs_predict_tracked_keys", "Keys the engine tracks",
        static_cast<double>(keys->size()));
  gauge("shadowfs_predict_memory_bytes", "Memory held by the prediction engine",
        static_cast<double>(MemoryBytes()));
  gauge("shadowfs_predict_bytes_in_flight", "Prefetched bytes requested and not yet stored",
        static_cast<double>(planner.bytes_in_flight()));
}

void Engine::ExportMetrics() {
  base::MutexLock lock(&impl_->mu);
  impl_->ExportGauges();
}

base::Status Engine::Save() {
  Impl& m = *impl_;
  if (m.options.state_path.empty()) return base::Status::Ok();
  EngineState state;
  {
    base::MutexLock lock(&m.mu);
    state = m.CollectState();
  }
  return SaveEngineState(m.options.state_path, state);
}

std::vector<Prediction> Engine::Top(std::string_view prefix, size_t limit) {
  Impl& m = *impl_;
  base::MutexLock lock(&m.mu);
  std::vector<Prediction> out;
  std::unordered_map<KeyId, size_t> index;  // key -> position in out
  m.labels.ForEachOpen([&](const LabelQueue::Pending& p) NO_THREAD_SAFETY_ANALYSIS {
    if (p.hit) return;  // already read: no longer a prediction of what comes next
    std::string_view name = m.keys->Name(p.key);
    if (name.empty() || name.substr(0, prefix.size()) != prefix) return;
    auto [it, added] = index.emplace(p.key, out.size());
    if (!added) {
      if (out[it->second].probability >= p.probability()) return;
    } else {
      out.emplace_back();
    }
    Prediction& pred = out[it->second];
    pred.key = std::string(name);
    pred.offset = p.offset;
    pred.length = p.length;
    pred.probability = p.probability();
    pred.experts.clear();
    for (size_t i = 0; i < m.experts.size() && i < p.features.size(); ++i) {
      if (p.features[i] > 0) pred.experts.emplace_back(m.experts[i]->name(), p.features[i]);
    }
    std::sort(pred.experts.begin(), pred.experts.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
  });
  std::sort(out.begin(), out.end(),
            [](const Prediction& a, const Prediction& b) { return a.probability > b.probability; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Accounting Engine::accounting() const {
  Impl& m = *impl_;
  base::MutexLock lock(&m.mu);
  Accounting a = m.accountant.Snapshot();
  a.calibration_error = m.learner.CalibrationError();
  a.labelled_predictions = m.learner.labelled();
  a.threshold = m.planner.threshold();
  a.bytes_in_flight = m.planner.bytes_in_flight();
  a.tracked_keys = m.keys->size();
  a.memory_bytes = m.MemoryBytes();
  a.events = m.events;
  return a;
}

}  // namespace shadowfs::predict
