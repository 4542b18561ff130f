#include "predict/engine.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "predict/engine_impl.h"

namespace shadowfs::predict {
namespace {

constexpr size_t kMaxProcesses = 4096;
// Directories whose read shape is kept (about 16 bytes each), and the longest tail proposed.
constexpr size_t kMaxShapeDirs = 4096;
constexpr uint64_t kMaxTail = 1ull << 20;
constexpr size_t kPendingPerKey = 4;
constexpr size_t kMaxPending = 1 << 16;
constexpr auto kMinLabelWindow = std::chrono::seconds(2);
constexpr auto kRescoreAfter = std::chrono::seconds(1);
constexpr double kFeatureStep = 1.0 / 255;  // PackedFeatures' resolution
constexpr double kLabelWindowFactor = 8;
constexpr double kHitDelayWeight = 0.02;  // of each new right prediction in the average

PlannerOptions PlannerOptionsFrom(const EngineOptions& o) {
  PlannerOptions p;
  p.horizon = o.horizon;
  p.target_precision = o.target_precision;
  p.max_bytes_in_flight = o.max_bytes_in_flight;
  p.bandwidth_bytes_per_second = o.bandwidth_bytes_per_second;
  p.store_share = o.store_share;
  p.max_request_bytes = o.max_request_bytes;
  return p;
}

}  // namespace

Engine::Impl::Impl(EngineOptions opts, EngineDeps d, std::unique_ptr<KeyTable> k,
                   const std::vector<std::string>& expert_names)
    : options(std::move(opts)),
      deps(d),
      keys(std::move(k)),
      shapes(kMaxShapeDirs, kMaxTail),
      learner(expert_names),
      planner(PlannerOptionsFrom(options)),
      accountant(expert_names, options.horizon),
      labels(kMaxPending, kPendingPerKey) {}

StoreState Engine::Impl::ReadStore() const {
  if (deps.store == nullptr) return {};
  return {deps.store->used_bytes(), deps.store->capacity_bytes()};
}

KeyId Engine::Impl::InternProcess(const std::string& name, std::string_view* view) {
  auto it = processes.find(name);
  if (it == processes.end()) {
    if (processes.size() >= kMaxProcesses) {
      *view = name;
      return kNoKey;
    }
    it = processes.emplace(name, static_cast<KeyId>(processes.size())).first;
  }
  *view = it->first;
  return it->second;
}

void Engine::Impl::Featurize(KeyId key, base::WallTime now, Features* x) const {
  size_t n = experts.size();
  x->assign(learner.num_features(), 0.0f);
  for (size_t i = 0; i < n; ++i) {
    (*x)[i] = static_cast<float>(std::clamp(experts[i]->Score(key, now), 0.0, 1.0));
  }
  const KeyTable::Object* obj = keys->object(key);
  double recency = 0;
  if (obj != nullptr && obj->last_touch != base::WallTime{}) {
    double age = std::chrono::duration<double>(now - obj->last_touch).count();
    recency = std::exp(-std::max(0.0, age) / static_cast<double>(options.horizon.count()));
  }
  learner.SetExtras(obj == nullptr ? 0 : obj->size, recency, x);
}

void Engine::Impl::Label(const LabelQueue::Pending& p, bool label) {
  p.features.Unpack(&label_features);
  learner.Update(label_features, label, p.probability());
}

void Engine::Impl::HitDelay::Add(double d) {
  ++hits;
  const double weight = std::max(kHitDelayWeight, 1.0 / static_cast<double>(hits));
  seconds += weight * (d - seconds);
}

void Engine::Impl::Hit(size_t proposer, std::chrono::nanoseconds delay) {
  const double d = std::max(0.0, std::chrono::duration<double>(delay).count());
  if (hit_delay.size() < experts.size() + 1) hit_delay.resize(experts.size() + 1);
  if (proposer < experts.size()) hit_delay[proposer].Add(d);
  hit_delay.back().Add(d);
}

std::chrono::nanoseconds Engine::Impl::LabelWindow(size_t proposer,
                                                   std::chrono::seconds within) const {
  const double seconds = proposer < hit_delay.size() ? hit_delay[proposer].seconds
                         : hit_delay.empty()         ? HitDelay{}.seconds
                                                     : hit_delay.back().seconds;
  auto window = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(kLabelWindowFactor * seconds));
  // The hits' delays alone would keep the window short for an expert whose reads come late:
  // only reads within the window are hits. An expert that knows better says so (`within`).
  window = std::max<std::chrono::nanoseconds>(window, within);
  return std::clamp<std::chrono::nanoseconds>(window, kMinLabelWindow, options.horizon);
}

std::chrono::nanoseconds Engine::Impl::LabelWindow() const {
  return LabelWindow(hit_delay.empty() ? 0 : hit_delay.size() - 1);
}

void Engine::Impl::Outcome(uint64_t useful, uint64_t wasted) {
  planner.RecordOutcome(useful, wasted);
  ++outcomes_since_adapt;
}

std::chrono::seconds Engine::Impl::Within(KeyId key, const Features& x, base::WallTime now) const {
  std::chrono::seconds within{0};
  for (size_t i = 0; i < experts.size() && i < x.size(); ++i) {
    if (x[i] > 0) within = std::max(within, experts[i]->Within(key, now));
  }
  return within;
}

void Engine::Impl::Plan(std::vector<Candidate>* cs, const std::vector<size_t>& from,
                        base::WallTime now, const StoreState& store, std::vector<Offer>* offers,
                        KeyId readahead) {
  Features x;
  for (size_t i = 0; i < cs->size(); ++i) {
    Candidate& c = (*cs)[i];
    const KeyTable::Object* obj = keys->object(c.key);
    if (obj == nullptr || c.key == readahead) continue;
    if (c.offset == 0) {
      // A predicted open: read where this directory's files are (a footer). Without the size
      // (a key not seen since a restart) the tail cannot be placed, and the whole file is not
      // what such a reader reads.
      const uint64_t tail = shapes.Tail(keys->Name(c.key));
      if (tail != 0 && obj->size == 0) continue;
      if (tail != 0 && obj->size > tail) {
        c.offset = obj->size - tail;
        c.length = tail;
      }
    }
    // The same range proposed twice (by two experts): score it once.
    bool seen = false;
    for (size_t j = 0; j < i && !seen; ++j) {
      seen = (*cs)[j].key == c.key && (*cs)[j].offset == c.offset;
    }
    if (seen) continue;
    // Labelled and requested already: nothing to learn or do. (Unlabelled, it is scored and
    // labelled whether or not it was requested; Admit refuses what was.)
    const LabelQueue::Pending* pending = labels.Find(c.key, c.offset, c.length);
    if (pending != nullptr && planner.RequestedRecently(c.key, c.offset, c.length, now)) continue;
    // How long the prediction waits for its label (and its prefetch for its outcome's report):
    // worked out once, when first needed, from the features x holds by then.
    std::optional<std::chrono::nanoseconds> window;
    auto window_of = [&]() NO_THREAD_SAFETY_ANALYSIS {
      if (!window) window = LabelWindow(from[i], Within(c.key, x, now));
      return *window;
    };
    double p;
    // Scored a moment ago (experts re-propose the same ranges read after read): reuse it, unless
    // its proposer is more confident now (a run one file longer: the next file, proposed again
    // as the one right ahead).
    const bool grew = pending != nullptr && from[i] < experts.size() &&
                      c.score > pending->features[from[i]] + kFeatureStep;
    if (pending != nullptr && now - pending->created() < kRescoreAfter && !grew) {
      p = pending->probability();
      pending->features.Unpack(&x);
    } else {
      Featurize(c.key, now, &x);
      // The proposer's own score (it may know more now than Score says) counts as its feature.
      if (from[i] < experts.size() && x[from[i]] < c.score) {
        x[from[i]] = static_cast<float>(std::clamp(c.score, 0.0, 1.0));
        learner.SetExtras(obj->size, x[experts.size() + 1], &x);
      }
      p = learner.Predict(x);
      // A prediction of a read later than now (a nightly job's partition, proposed ahead of
      // it) is judged from when the read was expected, not from when it was made.
      const base::WallTime due = std::max(now, c.expected_read);
      if (pending == nullptr) {
        labels.Add(
            c.key, c.offset, c.length, p, due, due + window_of(), x,
            [this](const LabelQueue::Pending& q, bool label)
                NO_THREAD_SAFETY_ANALYSIS { Label(q, label); },
            static_cast<uint8_t>(std::min<size_t>(from[i], 255)));
      }
    }
    // Credited to the expert whose score weighed most in p, not to the one that scores the key
    // highest (recency scores every key just read, whatever its weight) nor to the proposer
    // (successor proposes what epoch's score makes likely).
    const size_t best = learner.StrongestExpert(x);
    if (!options.prefetch || sink == nullptr) continue;
    auto d = planner.Admit(c.key, c.offset, c.length, obj->size, p, now, store,
                           accountant.unread_bytes(), c.expected_read);
    if (!d) continue;
    accountant.Requested(c.key, d->offset, d->length, best, now, c.expected_read, window_of());
    Offer o;
    o.key = c.key;
    o.decision = *d;
    o.request.key = std::string(keys->Name(c.key));
    o.request.offset = d->offset;
    o.request.length = d->length;
    o.request.expected_etag = keys->etag(c.key);
    o.request.probability = p;
    o.request.expected_read = c.expected_read == base::WallTime{} ? now : c.expected_read;
    o.request.expert = std::string(experts.empty() ? "" : experts[best]->name());
    in_flight[{o.request.key, d->offset}] = {c.key, *d};
    offers->push_back(std::move(o));
  }
}

void Engine::Impl::RecycleKeys() {
  if (!keys->over_capacity()) return;
  // Free a batch at once, so that recycling (every expert's Forget) is rare.
  size_t n = keys->size() - keys->capacity() + std::max<size_t>(1, keys->capacity() / 64);
  std::vector<KeyId> ids = keys->LeastRecent(n);
  for (auto& e : experts) e->Forget(ids);
  labels.Forget(ids);
  planner.Forget(ids);
  accountant.Forget(ids);
  keys->Release(ids);
}

void Engine::Impl::OfferAll(base::PrefetchSink* target, std::vector<Offer>* offers) {
  if (offers->empty()) return;
  std::vector<Offer> refused;
  for (Offer& o : *offers) {
    Offer copy;
    copy.key = o.key;
    copy.decision = o.decision;
    copy.request.key = o.request.key;
    if (!target->Offer(std::move(o.request))) refused.push_back(std::move(copy));
  }
  if (refused.empty()) return;
  base::MutexLock lock(&mu);
  for (const Offer& o : refused) {
    auto it = in_flight.find({o.request.key, o.decision.offset});
    if (it == in_flight.end()) continue;  // already reported done (a sink answering inside Offer)
    in_flight.erase(it);
    planner.Refused(o.key, o.decision);
    accountant.Refused(o.key, o.decision.offset, o.decision.length);
  }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Engine::~Engine() {
  if (impl_->options.state_path.empty()) return;
  base::Status st = Save();
  if (!st.ok()) {
    base::LogStream(*impl_->deps.runtime.logger, base::LogLevel::kWarning)
        << "prediction state not saved: " << st.ToString();
  }
}

base::Result<std::unique_ptr<Engine>> Engine::CreateWithExperts(EngineOptions options,
                                                                EngineDeps deps,
                                                                const ExpertFactory& make_experts) {
  if (deps.runtime.clock == nullptr || deps.runtime.logger == nullptr) {
    return base::Status::InvalidArgument("prediction engine: a clock and a logger are required");
  }
  if (options.horizon.count() <= 0) {
    return base::Status::InvalidArgument("prediction engine: the horizon must be positive");
  }
  auto keys = std::make_unique<KeyTable>(std::max<size_t>(options.max_keys, 16));
  std::vector<std::unique_ptr<Expert>> experts = make_experts(keys.get(), deps.names);
  std::vector<std::string> names;
  names.reserve(experts.size() + 1);
  for (const auto& e : experts) names.emplace_back(e->name());
  if (names.empty()) names.emplace_back("none");  // accounting needs one bucket
  auto impl = std::make_unique<Impl>(std::move(options), deps, std::move(keys), names);
  {
    base::MutexLock lock(&impl->mu);
    impl->experts = std::move(experts);
    impl->last_save = deps.runtime.clock->Now();
    impl->LoadState();
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

void Engine::AttachSink(base::PrefetchSink* sink) {
  base::MutexLock lock(&impl_->mu);
  if (impl_->sink == nullptr) impl_->sink = sink;
}

void Engine::Observe(const AccessEvent& event) {
  Impl& m = *impl_;
  StoreState store = m.ReadStore();
  std::vector<Impl::Offer> offers;
  base::PrefetchSink* sink = nullptr;
  {
    base::MutexLock lock(&m.mu);
    if (event.key == nullptr || event.key->size() > KeyTable::kMaxName) return;
    m.RecycleKeys();
    ++m.events;
    Access a;
    a.key = m.keys->Intern(*event.key);
    a.key_name = m.keys->Name(a.key);
    static const std::string kEmpty;
    a.process = m.InternProcess(event.process_name ? *event.process_name : kEmpty, &a.process_name);
    a.object_size = event.object_size;
    a.offset = event.offset;
    a.length = event.length;
    a.time = event.time;
    a.first_read = event.first_read;
    a.from_shadow = event.from_shadow;
    m.keys->Touch(a.key, event.time);
    const KeyTable::Object* obj = m.keys->object(a.key);
    std::string_view etag = event.etag ? std::string_view(*event.etag) : std::string_view();
    if (obj != nullptr &&
        (event.object_size != obj->size || (!etag.empty() && etag != m.keys->etag(a.key)))) {
      m.keys->SetObject(a.key, event.object_size,
                        etag.empty() ? std::string(m.keys->etag(a.key)) : std::string(etag));
    }
    a.etag = obj != nullptr ? m.keys->etag(a.key) : etag;

    // An open served from the page cache (length 0) read the file: a prediction of any of its
    // ranges was right. It is not a demand read of ours, so it is not accounted.
    m.labels.Read(
        a.key, a.offset, a.length, a.time,
        [&](const LabelQueue::Pending& p, std::chrono::nanoseconds delay)
            NO_THREAD_SAFETY_ANALYSIS { m.Hit(p.proposer, delay); },
        [&](const LabelQueue::Pending& p, bool label)
            NO_THREAD_SAFETY_ANALYSIS { m.Label(p, label); });
    if (a.length > 0) {
      bool prefetched = a.from_shadow && m.planner.Requested(a.key, a.offset, a.length, a.time);
      m.accountant.Read(a.key, a.offset, a.length, a.time, a.from_shadow, prefetched,
                        [&](uint64_t useful, uint64_t wasted)
                            NO_THREAD_SAFETY_ANALYSIS { m.Outcome(useful, wasted); });
    }
    m.shapes.Observe(a);
    const KeyId readahead = m.options.readahead_owns_open_file ? a.key : kNoKey;
    m.ProposeAndPlan([&](Expert& e, std::vector<Candidate>* out) { e.Observe(a, out); }, event.time,
                     store, &offers, readahead);
    sink = m.sink;
  }
  if (sink != nullptr) m.OfferAll(sink, &offers);
}

void Engine::Tick() {
  Impl& m = *impl_;
  StoreState store = m.ReadStore();
  base::WallTime now = m.deps.runtime.clock->Now();
  std::vector<Impl::Offer> offers;
  base::PrefetchSink* sink = nullptr;
  bool save = false;
  {
    base::MutexLock lock(&m.mu);
    m.labels.Expire(now, [&](const LabelQueue::Pending& p, bool label)
                             NO_THREAD_SAFETY_ANALYSIS { m.Label(p, label); });
    m.accountant.Expire(now, m.LabelWindow(),
                        [&](uint64_t useful, uint64_t wasted)
                            NO_THREAD_SAFETY_ANALYSIS { m.Outcome(useful, wasted); });
    m.planner.Expire(now);
    if (m.outcomes_since_adapt > 0) {
      m.planner.Adapt();
      m.outcomes_since_adapt = 0;
    }
    m.ProposeAndPlan([&](Expert& e, std::vector<Candidate>* out) { e.Tick(now, out); }, now, store,
                     &offers);
    sink = m.sink;
    if (now - m.last_export >= std::chrono::seconds(10)) {
      m.last_export = now;
      m.ExportGauges();
    }
    if (!m.options.state_path.empty() && now - m.last_save >= std::chrono::minutes(5)) {
      m.last_save = now;
      save = true;
    }
  }
  if (sink != nullptr) m.OfferAll(sink, &offers);
  if (save) {
    base::Status st = Save();
    if (!st.ok()) {
      base::LogStream(*m.deps.runtime.logger, base::LogLevel::kWarning)
          << "prediction state not saved: " << st.ToString();
    }
  }
}

void Engine::Listed(std::string_view dir) {
  Impl& m = *impl_;
  StoreState store = m.ReadStore();
  const base::WallTime now = m.deps.runtime.clock->Now();
  std::vector<Impl::Offer> offers;
  base::PrefetchSink* sink = nullptr;
  {
    base::MutexLock lock(&m.mu);
    m.ProposeAndPlan([&](Expert& e, std::vector<Candidate>* out) { e.Listed(dir, now, out); }, now,
                     store, &offers);
    sink = m.sink;
  }
  if (sink != nullptr) m.OfferAll(sink, &offers);
}

void Engine::OnPrefetchDone(const base::PrefetchResult& result) {
  Impl& m = *impl_;
  base::MutexLock lock(&m.mu);
  auto it = m.in_flight.find({result.key, result.offset});
  if (it == m.in_flight.end()) return;
  Impl::InFlight f = it->second;
  m.in_flight.erase(it);
  bool same_key = m.keys->Find(result.key) == std::optional<KeyId>(f.key);
  m.planner.Done(same_key ? f.key : kNoKey, f.decision, result.ok, result.no_space);
  if (same_key) {
    m.accountant.Done(f.key, result.offset, result.ok, result.length, result.finished,
                      result.stored_offset);
  }
}

double Engine::ReuseProbability(std::string_view key, base::WallTime now) {
  Impl& m = *impl_;
  base::MutexLock lock(&m.mu);
  std::optional<KeyId> id = m.keys->Find(key);
  if (!id) return 0;
  Features x;
  m.Featurize(*id, now, &x);
  return m.learner.Predict(x);
}

}  // namespace shadowfs::predict
