#include "blobstore/s3/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

namespace shadowfs::s3 {

using base::Result;
using base::Status;

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// libcurl must be initialized once per process before any other thread uses it, and
// curl_global_init is not thread-safe. A function-local static gives exactly-once, thread-safe
// initialization without a global; it is never cleaned up (the OS reclaims it at exit, and
// cleaning up while another component still uses curl would be worse).
bool EnsureCurlInitialized() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The state of one transfer, shared with curl's callbacks (which run on the calling thread).
struct Transfer {
  const HttpRequest* request = nullptr;
  const HttpClientOptions* options = nullptr;
  HttpResponse response;
  bool decided = false;
  bool streaming = false;
  Status callback_error;
  uint64_t read_pos = 0;  // within the request body

  void Decide() {
    if (decided) return;
    decided = true;
    streaming = request->stream_body_if && request->on_body && request->stream_body_if(response);
  }
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  try {
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new header block: an interim 100 Continue is followed by the final response.
      t->response = HttpResponse{};
      t->decided = false;
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        t->response.status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
      }
      return len;
    }
    std::string_view trimmed = Trim(line);
    if (trimmed.empty()) {
      if (t->response.status >= 200) t->Decide();
      return len;
    }
    size_t colon = trimmed.find(':');
    if (colon == std::string_view::npos) return len;
    t->response.headers.emplace_back(Lower(Trim(trimmed.substr(0, colon))),
                                     std::string(Trim(trimmed.substr(colon + 1))));
    return len;
  } catch (const std::exception& e) {
    t->callback_error = Status::IOError(std::string("reading response headers: ") + e.what());
    return 0;
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  try {
    t->Decide();
    if (t->options->bytes_received != nullptr) t->options->bytes_received->Increment(len);
    if (t->streaming) {
      Status st = t->request->on_body(std::string_view(data, len));
      if (!st.ok()) {
        t->callback_error = std::move(st);
        return 0;
      }
      return len;
    }
    if (t->response.body.size() + len > t->request->max_collected_body) {
      t->callback_error = Status::Corruption(
          "response body larger than " + std::to_string(t->request->max_collected_body) +
          " bytes for " + t->request->method + " " + t->request->url);
      return 0;
    }
    t->response.body.append(data, len);
    return len;
  } catch (const std::exception& e) {
    t->callback_error = Status::IOError(std::string("receiving response body: ") + e.what());
    return 0;
  }
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  const uint64_t total = r.body_source != nullptr ? r.body_length : r.body.size();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size * count, total - t->read_pos));
  if (n == 0) return 0;
  try {
    if (r.body_source != nullptr) {
      Status st = r.body_source->ReadAt(r.body_offset + t->read_pos, std::span<char>(buffer, n));
      if (!st.ok()) {
        t->callback_error = std::move(st);
        return CURL_READFUNC_ABORT;
      }
    } else {
      std::memcpy(buffer, r.body.data() + t->read_pos, n);
    }
  } catch (const std::exception& e) {
    t->callback_error = Status::IOError(std::string("reading request body: ") + e.what());
    return CURL_READFUNC_ABORT;
  }
  t->read_pos += n;
  if (t->options->bytes_sent != nullptr) t->options->bytes_sent->Increment(n);
  return n;
}

// Lets curl resend the body when it must (a reused connection that turned out dead).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  t->read_pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

Status TransferError(CURLcode rc, const char* errbuf, const HttpRequest& request) {
  std::string what = request.method + " " + request.url + ": " + curl_easy_strerror(rc);
  if (errbuf[0] != '\0') what += std::string(" (") + errbuf + ")";
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_AGAIN:
      return Status::Unavailable(what);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return Status::PermissionDenied(what +
                                      "; the server's TLS certificate could not be verified: "
                                      "configure ca_bundle for a private CA");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(what);
    default:
      return Status::IOError(what);
  }
}

}  // namespace

const std::string* HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

struct HttpClient::Handle {
  CurlPtr curl;
};

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
  EnsureCurlInitialized();
}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Handle> HttpClient::Acquire() {
  {
    base::MutexLock lock(&mu_);
    while (idle_.empty() && in_use_ >= std::max(1, options_.max_connections)) available_.Wait(&mu_);
    ++in_use_;
    if (!idle_.empty()) {
      auto handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl.reset(curl_easy_init());
  return handle;
}

void HttpClient::Release(std::unique_ptr<Handle> handle) {
  base::MutexLock lock(&mu_);
  --in_use_;
  if (handle->curl) idle_.push_back(std::move(handle));
  available_.Signal();
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  if (!EnsureCurlInitialized()) return Status::IOError("libcurl failed to initialize");
  std::unique_ptr<Handle> handle = Acquire();
  CURL* c = handle->curl.get();
  if (c == nullptr) {
    Release(std::move(handle));
    return Status::IOError("libcurl could not create a handle (out of memory?)");
  }
  // Reset clears the previous request's options but keeps the cached connection.
  curl_easy_reset(c);

  Transfer t;
  t.request = &request;
  t.options = &options_;
  char errbuf[CURL_ERROR_SIZE] = {0};

  SlistPtr headers;
  bool has_content_type = false;
  auto append = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) == "content-type") has_content_type = true;
    // "Name;" is curl's syntax for a header with an empty value.
    std::string line = name;
    line += value.empty() ? ";" : ": ";
    line += value;
    append(line);
  }
  // Suppress headers curl would add on its own: Expect: 100-continue costs a round trip (or a
  // one-second wait on servers that ignore it), and POST would get a form Content-Type.
  append("Expect:");
  append("Accept:");
  if (!has_content_type) append("Content-Type:");

  const uint64_t body_length =
      request.body_source != nullptr ? request.body_length : request.body.size();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // we are multi-threaded
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // keys may contain "." and ".." segments
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, options_.connect_timeout.count())));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max<int64_t>(1, options_.stall_timeout.count())));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  // One cached connection per handle, so the pool bounds open connections too.
  curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  if (!options_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, &OnRead);
  curl_easy_setopt(c, CURLOPT_READDATA, &t);
  curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &OnSeek);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);

  Status setup;
  if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_length));
  } else if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_length));
  } else if (request.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    setup = Status::InvalidArgument("unsupported HTTP method " + request.method);
  }

  CURLcode rc = CURLE_OK;
  if (setup.ok()) rc = curl_easy_perform(c);
  long status = 0;
  if (setup.ok()) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  // Drop pointers into this stack frame before the handle goes back to the pool.
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  Release(std::move(handle));

  if (!setup.ok()) return setup;
  if (rc != CURLE_OK) {
    if (!t.callback_error.ok()) return t.callback_error;
    return TransferError(rc, errbuf, request);
  }
  if (status != 0) t.response.status = status;
  return std::move(t.response);
}

}  // namespace shadowfs::s3
