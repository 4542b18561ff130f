#include "predict/experts/successor.h"

#include <algorithm>

namespace shadowfs::predict {
namespace {

constexpr std::string_view kFormat = "shadowfs.predict.successor";
constexpr uint32_t kVersion = 1;

uint64_t ProcessTag(KeyId process) { return experts::Mix64(0x9a0c000000000ull + process); }

}  // namespace

SuccessorExpert::SuccessorExpert(Options options, KeyTable* keys)
    : options_(options),
      keys_(keys),
      contexts_(options.max_contexts),
      processes_(options.max_processes) {}

uint64_t SuccessorExpert::ContextTag(KeyId process, const History& h, size_t order) {
  uint64_t tag = experts::Mix64((static_cast<uint64_t>(process) << 8) | order);
  for (size_t i = 0; i < order; ++i) tag = experts::Mix64(tag ^ h[i]);
  return tag;
}

void SuccessorExpert::AddSuccessor(Context* c, KeyId key) {
  if (c->total >= 60000) {
    // Halving keeps counts bounded and lets a changed pattern win over an old one.
    c->total = 0;
    for (size_t i = 0; i < kTop; ++i) {
      c->count[i] /= 2;
      if (c->count[i] == 0) c->next[i] = kNoKey;
      c->total += c->count[i];
    }
  }
  size_t slot = kTop;
  for (size_t i = 0; i < kTop; ++i) {
    if (c->next[i] == key) {
      slot = i;
      break;
    }
  }
  if (slot == kTop) {
    // A new successor replaces the least frequent (an empty slot first).
    slot = 0;
    for (size_t i = 0; i < kTop; ++i) {
      if (c->next[i] == kNoKey) {
        slot = i;
        break;
      }
      if (c->count[i] < c->count[slot]) slot = i;
    }
    c->total -= c->count[slot];
    c->next[slot] = key;
    c->count[slot] = 0;
  }
  ++c->count[slot];
  ++c->total;
}

SuccessorExpert::Context* SuccessorExpert::InsertContext(KeyId process, const History& h,
                                                         size_t order) {
  bool inserted = false;
  Context* c = contexts_.FindOrInsert(ContextTag(process, h, order), &inserted);
  if (inserted) {
    c->process = process;
    c->order = static_cast<uint8_t>(order);
    for (size_t i = 0; i < order; ++i) c->history[i] = h[i];
  }
  return c;
}

size_t SuccessorExpert::Predict(KeyId process, const History& h,
                                std::array<Guess, kMaxGuesses>* out) const {
  size_t n = 0;
  double remaining = 1.0;  // probability mass the higher orders escaped to the lower ones
  for (size_t order = kMaxOrder; order >= 1; --order) {
    if (h[order - 1] == kNoKey) continue;
    const Context* c = contexts_.Peek(ContextTag(process, h, order));
    if (c == nullptr || c->total == 0 || c->order != order || c->process != process) continue;
    size_t distinct = 0;
    for (size_t i = 0; i < kTop; ++i) distinct += c->next[i] != kNoKey;
    const double denominator = c->total + static_cast<double>(distinct);
    for (size_t i = 0; i < kTop; ++i) {
      if (c->next[i] == kNoKey) continue;
      const double p = remaining * c->count[i] / denominator;
      size_t j = 0;
      while (j < n && (*out)[j].key != c->next[i]) ++j;
      if (j == n) (*out)[n++] = {c->next[i], 0};
      (*out)[j].p += p;
    }
    remaining *= distinct / denominator;
  }
  std::sort(out->begin(), out->begin() + n,
            [](const Guess& a, const Guess& b) { return a.p != b.p ? a.p > b.p : a.key < b.key; });
  return n;
}

void SuccessorExpert::Observe(const Access& access, std::vector<Candidate>* out) {
  if (!access.first_read) return;
  ProcessHistory* ph = processes_.FindOrInsert(ProcessTag(access.process));
  History& h = ph->recent;
  for (size_t order = 1; order <= kMaxOrder && h[order - 1] != kNoKey; ++order) {
    AddSuccessor(InsertContext(access.process, h, order), access.key);
  }
  if (h[0] != access.key) {
    h[2] = h[1];
    h[1] = h[0];
    h[0] = access.key;
  }

  // The distribution of the next open, then the most probable chain beyond it.
  std::array<Guess, kMaxGuesses> guesses;
  std::array<Guess, kMaxGuesses + kMaxLookahead> proposals;
  size_t np = 0;
  auto propose = [&](KeyId key, double p) {
    if (key == access.key || p < options_.min_score) return;
    for (size_t i = 0; i < np; ++i) {
      if (proposals[i].key == key) {
        proposals[i].p = std::max(proposals[i].p, p);
        return;
      }
    }
    if (np < proposals.size()) proposals[np++] = {key, p};
  };
  History chain = h;
  double chain_p = 1.0;
  for (size_t step = 0; step <= std::min(options_.lookahead, kMaxLookahead - 1); ++step) {
    const size_t n = Predict(access.process, chain, &guesses);
    if (n == 0) break;
    if (step == 0) {
      for (size_t i = 0; i < n; ++i) propose(guesses[i].key, guesses[i].p);
    } else {
      propose(guesses[0].key, chain_p * guesses[0].p);
    }
    chain_p *= guesses[0].p;
    if (chain_p < options_.min_score) break;
    chain = {guesses[0].key, chain[0], chain[1]};
  }
  std::sort(proposals.begin(), proposals.begin() + np,
            [](const Guess& a, const Guess& b) { return a.p > b.p; });
  np = std::min(np, options_.max_candidates);
  for (size_t i = 0; i < np; ++i) {
    out->push_back(experts::FileCandidate(*keys_, proposals[i].key, proposals[i].p, options_.range,
                                          access.time));
    recent_.Add(proposals[i].key, proposals[i].p, access.time);
  }
}

double SuccessorExpert::Score(KeyId key, base::WallTime now) const {
  return recent_.Get(key, now, options_.horizon);
}

void SuccessorExpert::Forget(const std::vector<KeyId>& ids) {
  const experts::IdSet set(ids);
  contexts_.ForEach([&](Context& c) {
    bool drop = set.contains(c.process);
    for (size_t i = 0; i < c.order; ++i) drop = drop || set.contains(c.history[i]);
    if (drop) {
      contexts_.Erase(&c);
      return;
    }
    for (size_t i = 0; i < kTop; ++i) {
      if (c.next[i] != kNoKey && set.contains(c.next[i])) {
        c.total -= c.count[i];
        c.count[i] = 0;
        c.next[i] = kNoKey;
      }
    }
  });
  processes_.ForEach([&](ProcessHistory& p) {
    for (KeyId& k : p.recent) {
      if (k != kNoKey && set.contains(k)) k = kNoKey;
    }
    // Keep the history contiguous from the most recent.
    std::stable_partition(p.recent.begin(), p.recent.end(), [](KeyId k) { return k != kNoKey; });
  });
  recent_.Forget(set);
}

size_t SuccessorExpert::MemoryBytes() const {
  return sizeof(*this) + contexts_.MemoryBytes() + processes_.MemoryBytes();
}

std::string SuccessorExpert::Save(const std::function<std::string_view(KeyId)>& name_of) const {
  experts::BlobWriter w(kFormat, kVersion);
  w.PutVar(contexts_.size());
  contexts_.ForEach([&](const Context& c) {
    w.PutStr(name_of(c.process));
    w.PutVar(c.order);
    for (size_t i = 0; i < c.order; ++i) w.PutStr(name_of(c.history[i]));
    size_t n = 0;
    for (size_t i = 0; i < kTop; ++i) n += c.next[i] != kNoKey;
    w.PutVar(n);
    for (size_t i = 0; i < kTop; ++i) {
      if (c.next[i] == kNoKey) continue;
      w.PutStr(name_of(c.next[i]));
      w.PutVar(c.count[i]);
    }
  });
  return std::move(w).Finish();
}

base::Status SuccessorExpert::Load(std::string_view blob,
                                   const std::function<KeyId(std::string_view)>& intern) {
  contexts_.Clear();
  processes_.Clear();
  recent_ = {};
  experts::BlobReader r(blob);
  SHADOWFS_RETURN_IF_ERROR(r.ReadHeader(kFormat, kVersion));
  const uint64_t n = r.GetCount(3);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const KeyId process = intern(r.GetStr());
    const uint64_t order = r.GetVar();
    if (order < 1 || order > kMaxOrder) break;
    History h{kNoKey, kNoKey, kNoKey};
    for (size_t j = 0; j < order; ++j) h[j] = intern(r.GetStr());
    const uint64_t m = r.GetCount(2);
    if (m > kTop) break;
    Context* c = InsertContext(process, h, order);
    for (uint64_t j = 0; j < m && r.ok(); ++j) {
      const KeyId next = intern(r.GetStr());
      const uint64_t count = std::min<uint64_t>(r.GetVar(), 30000);
      c->next[j] = next;
      c->count[j] = static_cast<uint16_t>(count);
      c->total = static_cast<uint16_t>(c->total + count);
    }
  }
  base::Status status = r.Finish(kFormat);
  if (!status.ok()) contexts_.Clear();
  return status;
}

}  // namespace shadowfs::predict
