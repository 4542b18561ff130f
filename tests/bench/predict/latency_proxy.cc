// latency_proxy: a loopback TCP proxy that adds a fixed delay to every request, so that the
// prediction benchmark (run_predict_bench.sh) can give RGW on 127.0.0.1 the round trip of a
// remote object store; the kernel here has no netem.
//
//   latency_proxy --upstream 127.0.0.1:PORT [--listen-port 0] [--delay-ms 20]
//
// Prints the port it listens on (127.0.0.1 only) as one line on stdout, then serves until SIGTERM
// or SIGINT; SIGUSR1 prints the running totals (connections, delayed bursts ~ requests, bytes) as
// one line on stderr, so a script can count the requests of one run. Each burst of bytes a client
// sends is forwarded upstream `delay` after it arrived, in order (so a request costs one delay, and
// a large upload keeps its throughput: its bursts are delayed, not serialised); responses are
// passed back at once. One thread per connection; on a signal the listener closes, every connection
// is cut, every thread joined, and the totals are printed on stderr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/base/unique_fd.h"

namespace {

using shadowfs::base::UniqueFd;
using Clock = std::chrono::steady_clock;

struct Totals {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> bursts{0};  // client->server bursts delayed (about one per request)
  std::atomic<uint64_t> upstream_bytes{0};
  std::atomic<uint64_t> downstream_bytes{0};
};

// Sockets have a send timeout (SetSocketOptions), so a peer that stops reading cannot keep a
// connection thread from seeing the shutdown.
bool WriteAll(int fd, const char* data, size_t size, const std::atomic<bool>& stopping) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) && !stopping) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void SetSocketOptions(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval timeout{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

UniqueFd ConnectUpstream(const sockaddr_in& addr) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return UniqueFd();
  }
  SetSocketOptions(fd.get());
  return fd;
}

// One proxied connection: a single poll loop moves both directions; client bytes wait in a queue
// until their due time. `stop_fd` becomes readable when the proxy shuts down.
class Connection {
 public:
  Connection(UniqueFd client, const sockaddr_in& upstream, std::chrono::milliseconds delay,
             int stop_fd, const std::atomic<bool>* stopping, Totals* totals)
      : client_(std::move(client)),
        upstream_(upstream),
        delay_(delay),
        stop_fd_(stop_fd),
        stopping_(stopping),
        totals_(totals),
        thread_([this] { Run(); }) {}
  ~Connection() { thread_.join(); }
  bool done() const { return done_.load(); }

 private:
  struct Burst {
    Clock::time_point due;
    std::string bytes;
  };

  void Run() {
    shadowfs::base::SetThreadName("proxy-conn");
    UniqueFd server = ConnectUpstream(upstream_);
    if (server) Pump(server.get());
    done_ = true;
  }

  void Pump(int server) {
    int client = client_.get();
    std::deque<Burst> queue;
    bool client_eof = false, server_eof = false, server_shut = false;
    std::vector<char> buf(256 << 10);
    for (;;) {
      int timeout = -1;
      if (!queue.empty()) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(queue.front().due - Clock::now());
        timeout = static_cast<int>(std::max<int64_t>(0, wait.count()));
      }
      pollfd fds[3] = {{stop_fd_, POLLIN, 0},
                       {client, static_cast<short>(client_eof ? 0 : POLLIN), 0},
                       {server, static_cast<short>(server_eof ? 0 : POLLIN), 0}};
      int ready = ::poll(fds, 3, timeout);
      if (ready < 0 && errno != EINTR) return;
      if (fds[0].revents) return;
      if (fds[1].revents) {
        ssize_t n = ::recv(client, buf.data(), buf.size(), 0);
        if (n > 0) {
          queue.push_back({Clock::now() + delay_, std::string(buf.data(), static_cast<size_t>(n))});
          totals_->bursts++;
        } else if (n == 0 || errno != EINTR) {
          client_eof = true;
        }
      }
      if (fds[2].revents) {
        ssize_t n = ::recv(server, buf.data(), buf.size(), 0);
        if (n > 0) {
          if (!WriteAll(client, buf.data(), static_cast<size_t>(n), *stopping_)) return;
          totals_->downstream_bytes += static_cast<uint64_t>(n);
        } else if (n == 0 || errno != EINTR) {
          server_eof = true;
          ::shutdown(client, SHUT_WR);
        }
      }
      while (!queue.empty() && queue.front().due <= Clock::now()) {
        const std::string& bytes = queue.front().bytes;
        if (!WriteAll(server, bytes.data(), bytes.size(), *stopping_)) return;
        totals_->upstream_bytes += bytes.size();
        queue.pop_front();
      }
      if (client_eof && queue.empty() && !server_shut) {
        ::shutdown(server, SHUT_WR);
        server_shut = true;
      }
      if (client_eof && server_eof && queue.empty()) return;
    }
  }

  UniqueFd client_;
  const sockaddr_in upstream_;
  const std::chrono::milliseconds delay_;
  const int stop_fd_;
  const std::atomic<bool>* const stopping_;
  Totals* const totals_;
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: starts once the members above exist
};

bool ParseUpstream(const std::string& text, sockaddr_in* addr) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = text.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  *addr = {};
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, host.c_str(), &addr->sin_addr) != 1) return false;
  // Loopback only: this tool must never relay traffic off the machine.
  return (ntohl(addr->sin_addr.s_addr) >> 24) == 127 && addr->sin_port != 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: latency_proxy --upstream 127.0.0.1:PORT [--listen-port N] [--delay-ms N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string upstream_text;
  int listen_port = 0;
  int delay_ms = 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    if (a == "--upstream") {
      upstream_text = argv[++i];
    } else if (a == "--listen-port") {
      listen_port = std::atoi(argv[++i]);
    } else if (a == "--delay-ms") {
      delay_ms = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }
  sockaddr_in upstream;
  if (!ParseUpstream(upstream_text, &upstream) || delay_ms < 0) return Usage();

  // Signals are read from a signalfd by the accept loop; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC));
  int stop_pipe[2];
  if (!signal_fd || ::pipe2(stop_pipe, O_CLOEXEC) != 0) {
    std::perror("latency_proxy: signalfd/pipe");
    return 1;
  }
  UniqueFd stop_read(stop_pipe[0]), stop_write(stop_pipe[1]);

  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(listen_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 256) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("latency_proxy: listen");
    return 1;
  }
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  Totals totals;
  std::atomic<bool> stopping{false};
  auto print_totals = [&totals] {
    std::fprintf(stderr,
                 "latency_proxy: connections=%llu bursts=%llu bytes_up=%llu bytes_down=%llu\n",
                 static_cast<unsigned long long>(totals.connections.load()),
                 static_cast<unsigned long long>(totals.bursts.load()),
                 static_cast<unsigned long long>(totals.upstream_bytes.load()),
                 static_cast<unsigned long long>(totals.downstream_bytes.load()));
  };
  std::list<std::unique_ptr<Connection>> connections;
  for (;;) {
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {listener.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents) {
      signalfd_siginfo info;
      if (::read(signal_fd.get(), &info, sizeof(info)) == sizeof(info) &&
          info.ssi_signo == SIGUSR1) {
        print_totals();
        continue;
      }
      break;
    }
    if (!fds[1].revents) continue;
    UniqueFd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    SetSocketOptions(client.get());
    totals.connections++;
    // Reap finished connections so a long run keeps a bounded number of threads.
    connections.remove_if([](const std::unique_ptr<Connection>& c) { return c->done(); });
    connections.push_back(std::make_unique<Connection>(std::move(client), upstream,
                                                       std::chrono::milliseconds(delay_ms),
                                                       stop_read.get(), &stopping, &totals));
  }
  listener.Reset();
  stopping = true;
  (void)!::write(stop_write.get(), "x", 1);  // wakes every connection's poll: they return
  connections.clear();                       // joins them
  print_totals();
  return 0;
}
