#include "predict/access_log.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.h"

namespace shadowfs::predict {
namespace {

AccessEvent Event(std::string key, uint64_t off, bool first) {
  AccessEvent e;
  e.key = std::make_shared<const std::string>(std::move(key));
  e.process_name = std::make_shared<const std::string>("python3");
  e.etag = std::make_shared<const std::string>("\"d41d8cd98f00b204e9800998ecf8427e\"");
  e.object_size = 1 << 20;
  e.offset = off;
  e.length = 4096;
  e.time = base::WallTime(std::chrono::microseconds(1'700'000'123'456'789));
  e.first_read = first;
  e.from_shadow = !first;
  return e;
}

void ExpectSame(const AccessEvent& a, const AccessEvent& b) {
  EXPECT_EQ(*a.key, *b.key);
  EXPECT_EQ(*a.process_name, *b.process_name);
  EXPECT_EQ(*a.etag, *b.etag);
  EXPECT_EQ(a.object_size, b.object_size);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.first_read, b.first_read);
  EXPECT_EQ(a.from_shadow, b.from_shadow);
}

TEST(AccessLogTest, LineFormatIsTheDocumentedOne) {
  EXPECT_EQ(FormatAccessLogLine(Event("data/part-0001", 8192, true)),
            "{\"t\":1700000123.456789,\"key\":\"data/part-0001\",\"proc\":\"python3\","
            "\"etag\":\"\\\"d41d8cd98f00b204e9800998ecf8427e\\\"\",\"size\":1048576,"
            "\"off\":8192,\"len\":4096,\"first\":true,\"shadow\":false}");
}

TEST(AccessLogTest, WriterAndReaderRoundTripEveryKeyByteForByte) {
  testing::TempDir dir;
  base::FakeClock clock;
  std::vector<AccessEvent> events = {Event("plain/key", 0, true),
                                     Event("üñï/çødé \"quoted\"\n\ttab", 4096, false),
                                     Event(std::string("bad\xff\xfe utf8\x80"), 8192, true),
                                     Event(std::string("nul\0inside", 10), 0, false)};
  {
    auto w = AccessLogWriter::Open(dir.File("log"), &clock);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (const auto& e : events) ASSERT_TRUE((*w)->Write(e).ok());
  }  // the destructor flushes
  auto r = AccessLogReader::Open(dir.File("log"));
  ASSERT_TRUE(r.ok());
  AccessEvent got;
  for (const auto& e : events) {
    auto more = (*r)->Next(&got);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    ASSERT_TRUE(*more);
    ExpectSame(got, e);
  }
  auto end = (*r)->Next(&got);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
}

TEST(AccessLogTest, WriterFlushesAboutEverySecond) {
  testing::TempDir dir;
  base::FakeClock clock;
  auto w = AccessLogWriter::Open(dir.File("log"), &clock);
  ASSERT_TRUE(w.ok());
  auto lines = [&] {
    std::ifstream in(dir.File("log"));
    std::string line;
    int n = 0;
    while (std::getline(in, line)) ++n;
    return n;
  };
  ASSERT_TRUE((*w)->Write(Event("a", 0, true)).ok());
  EXPECT_EQ(lines(), 0) << "buffered";
  clock.Advance(std::chrono::milliseconds(1100));
  ASSERT_TRUE((*w)->Write(Event("b", 0, true)).ok());
  EXPECT_EQ(lines(), 2);
}

TEST(AccessLogTest, MalformedLinesAreReportedWithTheirLineNumber) {
  testing::TempDir dir;
  std::string good = FormatAccessLogLine(Event("k", 0, true));
  const char* bad[] = {
      "not json",
      "[1, 2]",
      "{\"key\": \"k\"}",                            // no time
      "{\"t\": 1.5, \"key\": 7}",                    // key not a string
      "{\"t\": 1.5, \"key\": \"k\", \"off\": -1}",   // negative offset
      "{\"t\": 1.5, \"key\": \"k\", \"first\": 1}",  // not a boolean
      "{\"t\": 1.5, \"key_b64\": \"***\"}",          // not base64
      "{\"t\": 1.5, \"key\": \"k\"",                 // truncated
  };
  for (const char* line : bad) {
    std::ofstream(dir.File("log"), std::ios::trunc) << good << "\n\n"
                                                    << good << "\n"
                                                    << line << "\n"
                                                    << good << "\n";
    auto r = AccessLogReader::Open(dir.File("log"));
    ASSERT_TRUE(r.ok());
    AccessEvent e;
    ASSERT_TRUE(*(*r)->Next(&e));
    ASSERT_TRUE(*(*r)->Next(&e)) << "a blank line is skipped";
    auto err = (*r)->Next(&e);
    ASSERT_FALSE(err.ok()) << line;
    EXPECT_EQ(err.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(err.status().message().find(dir.File("log") + ":4: "), std::string::npos)
        << err.status().message();
  }
  EXPECT_FALSE(AccessLogReader::Open(dir.File("missing")).ok());
}

TEST(AccessLogTest, OptionalFieldsDefaultAndUnknownOnesAreIgnored) {
  auto e = ParseAccessLogLine("{\"t\": 12.5, \"key\": \"k\", \"extra\": {\"x\": 1}}");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*e->key, "k");
  EXPECT_EQ(e->time, base::WallTime(std::chrono::milliseconds(12500)));
  EXPECT_EQ(e->length, 0u);
  EXPECT_FALSE(e->first_read);
}

}  // namespace
}  // namespace shadowfs::predict
