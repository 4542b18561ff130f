#include "blobstore/s3/ranged_download.h"

#include <algorithm>
#include <limits>

#include "blobstore/s3/object_headers.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;
using blobstore::GetResult;

namespace {

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

std::string RangeHeader(uint64_t begin, uint64_t end) {
  return "bytes=" + std::to_string(begin) + "-" + std::to_string(end - 1);
}

}  // namespace

// A stand-in response for a request whose bytes all arrived before its connection failed.
Result<HttpResponse> RangedDownload::Delivered() {
  HttpResponse done;
  done.status = 206;
  return done;
}

RangedDownload::RangedDownload(S3Client& client, base::Executor* executor, std::string_view key,
                               const blobstore::GetOptions& options, blobstore::ByteSink& sink)
    : client_(client), executor_(executor), key_(key), options_(options), sink_(sink) {}

RangedDownload::~RangedDownload() = default;

Result<GetResult> RangedDownload::Run() {
  const S3Config& config = client_.config();
  const blobstore::ByteRange& range = options_.range;
  const uint64_t threshold = std::max<uint64_t>(1, config.parallel_get_threshold);
  const uint64_t part = std::max<uint64_t>(1, config.get_part_size);
  if (range.is_suffix()) {
    uint64_t n = range.length().value_or(0);
    if (n == 0) return EmptyResult();
    first_range_ = "bytes=-" + std::to_string(n < threshold ? n : std::min(n, part));
  } else {
    std::optional<uint64_t> length = range.length();
    if (length && *length == 0) return EmptyResult();
    // A known small range, or any range when there is no parallelism to gain, is fetched in one
    // request; otherwise the first request takes one part and the rest is split once the
    // object's size is known.
    const bool one_request = (length && *length < threshold) || config.parallelism <= 1;
    if (one_request && !length) {
      first_range_ = "bytes=" + std::to_string(range.offset()) + "-";
    } else {
      uint64_t want = one_request ? *length : std::min(length.value_or(part), part);
      first_range_ = RangeHeader(range.offset(), SaturatingAdd(range.offset(), want));
    }
  }

  Result<HttpResponse> response =
      client_.Retry("get", key_, [this](int) { return FirstAttempt(); });
  if (!response.ok()) return response.status();
  if (response->status == 416) return EmptyResult();
  if (response->status != 200 && response->status != 206) return Fail(*response);
  if (work_ != nullptr) SHADOWFS_RETURN_IF_ERROR(work_->Finish());

  GetResult result;
  result.info = info_;
  result.offset = window_begin_;
  result.length = window_end_ - window_begin_;
  return result;
}

Result<HttpResponse> RangedDownload::FirstAttempt() {
  S3Request request;
  request.op = "get";
  request.method = "GET";
  request.key = key_;
  if (!options_.version_id.empty()) request.query.emplace_back("versionId", options_.version_id);
  const bool resuming = have_object_;
  // Everything wanted already arrived (the transfer broke off after the window's end): done.
  if (resuming && first_.next >= first_.end) return Delivered();
  if (!resuming) {
    request.headers.emplace_back("range", first_range_);
    if (!options_.conditions.if_match.empty()) {
      request.headers.emplace_back("if-match", QuoteEtag(options_.conditions.if_match));
    }
    if (!options_.conditions.if_none_match.empty()) {
      request.headers.emplace_back("if-none-match", QuoteEtag(options_.conditions.if_none_match));
    }
  } else {
    // Resume after the bytes we already have, from the same version.
    request.headers.emplace_back("range", RangeHeader(first_.next, first_.end));
    if (!info_.etag.empty()) request.headers.emplace_back("if-match", QuoteEtag(info_.etag));
  }
  request.stream_body_if = [this, resuming](const HttpResponse& response) {
    if (response.status != 200 && response.status != 206) return false;
    if (!resuming) return OnFirstHeaders(response);
    if (response.status == 200) {
      first_cursor_ = 0;
    } else {
      auto cr = ParseContentRange(
          response.Header("content-range") ? *response.Header("content-range") : "");
      if (!cr) {
        header_error_ = Status::Corruption("resumed GET of '" + key_ + "': bad Content-Range");
        return true;
      }
      first_cursor_ = cr->first;
    }
    return true;
  };
  request.on_body = [this](std::string_view data) {
    if (!header_error_.ok()) return header_error_;
    Status st = Deliver(first_cursor_, data, &first_);
    first_cursor_ += data.size();
    return st;
  };
  Result<HttpResponse> response = client_.SendOnce(request);
  if (!header_error_.ok()) return header_error_;
  if (!response.ok()) {
    if (have_object_ && first_.next >= first_.end) return Delivered();
    return response;
  }
  if (response->status == 200 || response->status == 206) {
    if (first_.next < first_.end) {
      return Status::Unavailable("GET of '" + key_ +
                                 "' ended early: " + std::to_string(first_.next - first_.begin) +
                                 " of " + std::to_string(first_.end - first_.begin) + " bytes");
    }
  }
  return response;
}

bool RangedDownload::OnFirstHeaders(const HttpResponse& response) {
  info_ = InfoFromHeaders(key_, response);
  if (response.status == 200 && response.Header("content-length") == nullptr) {
    header_error_ = Status::Corruption("GET of '" + key_ + "': a 200 without Content-Length");
    return true;
  }
  uint64_t delivered_begin = 0, delivered_end = info_.size;
  if (response.status == 206) {
    const std::string* header = response.Header("content-range");
    auto cr = ParseContentRange(header != nullptr ? *header : "");
    if (!cr) {
      header_error_ = Status::Corruption("GET of '" + key_ + "': missing or bad Content-Range '" +
                                         (header != nullptr ? *header : "") + "' in a 206");
      return true;
    }
    info_.size = cr->total;
    delivered_begin = cr->first;
    delivered_end = cr->last + 1;
  }
  auto [begin, end] = options_.range.Resolve(info_.size);
  window_begin_ = begin;
  window_end_ = end;
  first_.begin = std::clamp(delivered_begin, begin, end);
  first_.end = std::clamp(delivered_end, first_.begin, end);
  first_.next = first_.begin;
  first_cursor_ = delivered_begin;
  have_object_ = true;

  // What the first response did not cover is fetched in parts, in parallel, unless it is too
  // small to be worth splitting or there is no parallelism: then each gap is one request, since
  // every extra request costs a round trip.
  const S3Config& config = client_.config();
  const uint64_t rest = (first_.begin - window_begin_) + (window_end_ - first_.end);
  const uint64_t part = config.parallelism <= 1 || rest < config.parallel_get_threshold
                            ? std::numeric_limits<uint64_t>::max()
                            : std::max<uint64_t>(1, config.get_part_size);
  auto split = [&](uint64_t from, uint64_t to) {
    for (uint64_t at = from; at < to; at += std::min(part, to - at)) {
      parts_.emplace_back(at, at + std::min(part, to - at));
    }
  };
  split(window_begin_, first_.begin);
  split(first_.end, window_end_);
  if (!parts_.empty()) {
    work_ = std::make_unique<ParallelWork>(executor_, parts_.size(), client_.config().parallelism,
                                           [this](size_t i) { return FetchPart(i); });
    // The parts start while this thread is still receiving the first one.
    work_->Start();
  }
  return true;
}

Status RangedDownload::FetchPart(size_t index) {
  Span span;
  span.begin = span.next = parts_[index].first;
  span.end = parts_[index].second;
  uint64_t cursor = 0;
  Status header_error;
  Result<HttpResponse> response = client_.Retry("get", key_, [&](int) -> Result<HttpResponse> {
    S3Request request;
    request.op = "get";
    request.method = "GET";
    request.key = key_;
    if (!options_.version_id.empty()) request.query.emplace_back("versionId", options_.version_id);
    request.headers.emplace_back("range", RangeHeader(span.next, span.end));
    if (!info_.etag.empty()) request.headers.emplace_back("if-match", QuoteEtag(info_.etag));
    request.stream_body_if = [&](const HttpResponse& r) {
      if (r.status != 200 && r.status != 206) return false;
      const std::string* etag = r.Header("etag");
      if (etag != nullptr && !info_.etag.empty() && UnquoteEtag(*etag) != info_.etag) {
        header_error = Status::Conflict("'" + key_ + "' changed while it was being read in parts");
        return true;
      }
      cursor = 0;
      if (r.status == 206) {
        auto cr = ParseContentRange(r.Header("content-range") ? *r.Header("content-range") : "");
        if (!cr) {
          header_error = Status::Corruption("GET of '" + key_ + "': bad Content-Range in a part");
          return true;
        }
        cursor = cr->first;
      }
      return true;
    };
    request.on_body = [&](std::string_view data) {
      if (!header_error.ok()) return header_error;
      Status st = Deliver(cursor, data, &span);
      cursor += data.size();
      return st;
    };
    Result<HttpResponse> r = client_.SendOnce(request);
    if (!header_error.ok()) return header_error;
    if (!r.ok()) return span.next >= span.end ? Delivered() : r;
    if ((r->status == 200 || r->status == 206) && span.next < span.end) {
      return Status::Unavailable("part " + RangeHeader(span.begin, span.end) + " of '" + key_ +
                                 "' ended early");
    }
    return r;
  });
  if (!response.ok()) return response.status();
  if (response->status == 200 || response->status == 206) return Status::Ok();
  if (response->status == 412) {
    return Status::Conflict("'" + key_ +
                            "' was overwritten while it was being read in parallel "
                            "parts (ETag was " +
                            info_.etag + "); read it again");
  }
  return client_.ErrorStatus(*response, "get", key_);
}

Status RangedDownload::Deliver(uint64_t at, std::string_view data, Span* span) {
  const uint64_t end = at + data.size();
  if (at > span->next && at < span->end) {
    return Status::Corruption("GET of '" + key_ + "': the server skipped bytes " +
                              std::to_string(span->next) + "-" + std::to_string(at - 1));
  }
  const uint64_t lo = std::max(at, span->next);
  const uint64_t hi = std::min(end, span->end);
  if (lo >= hi) return Status::Ok();
  SHADOWFS_RETURN_IF_ERROR(sink_.WriteAt(lo - window_begin_, data.substr(lo - at, hi - lo)));
  span->next = hi;
  return Status::Ok();
}

Result<GetResult> RangedDownload::EmptyResult() {
  S3Request request;
  request.op = "head";
  request.method = "HEAD";
  request.key = key_;
  if (!options_.version_id.empty()) request.query.emplace_back("versionId", options_.version_id);
  if (!options_.conditions.if_match.empty()) {
    request.headers.emplace_back("if-match", QuoteEtag(options_.conditions.if_match));
  }
  if (!options_.conditions.if_none_match.empty()) {
    request.headers.emplace_back("if-none-match", QuoteEtag(options_.conditions.if_none_match));
  }
  SHADOWFS_ASSIGN_OR_RETURN(HttpResponse response, client_.Send(request));
  if (response.status != 200) return Fail(response);
  GetResult result;
  result.info = InfoFromHeaders(key_, response);
  result.offset = options_.range.Resolve(result.info.size).first;
  result.length = 0;
  return result;
}

Status RangedDownload::Fail(const HttpResponse& response) {
  return client_.ErrorStatus(response, "get", key_);
}

}  // namespace shadowfs::s3
