// SigV4 against published vectors: AWS's Signature Version 4 test suite (service "service",
// which encodes the path a second time) and the worked S3 examples in the S3 API reference
// (service "s3", path encoded once).
#include "blobstore/s3/sigv4.h"

#include <gtest/gtest.h>

#include "blobstore/base/digest.h"

namespace shadowfs::s3 {
namespace {

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The test suite's fixed inputs.
const base::WallTime kSuiteTime = base::FromUnixSeconds(1440938160);  // 20150830T123600Z
SigV4Signer SuiteSigner(std::string token = "") {
  return SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::move(token),
                     "us-east-1", "service", /*double_encode_path=*/true);
}

// The S3 reference's examples.
const base::WallTime kS3Time = base::FromUnixSeconds(1369353600);  // 20130524T000000Z
SigV4Signer S3Signer() {
  return SigV4Signer("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "",
                     "us-east-1", "s3", /*double_encode_path=*/false);
}

SigningRequest Request(std::string method, std::string path, QueryParams query = {},
                       Headers headers = {}, std::string payload_hash = kEmptySha256,
                       std::string host = "example.amazonaws.com") {
  SigningRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  r.headers = std::move(headers);
  r.headers.emplace_back("Host", std::move(host));
  r.payload_hash = std::move(payload_hash);
  return r;
}

std::string SuiteAuthorization(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         signed_headers + ", Signature=" + signature;
}

TEST(SigV4SuiteTest, GetVanillaCanonicalRequestStringToSignAndSignature) {
  SigV4Signer signer = SuiteSigner();
  SigningRequest r = Request("GET", "/");
  std::string authorization = signer.Sign(&r, kSuiteTime);
  const std::string creq = signer.CanonicalRequest(r);
  EXPECT_EQ(creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n" +
                std::string(kEmptySha256));
  EXPECT_EQ(base::Sha256Hex(creq),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  const std::string sts = signer.StringToSign("20150830T123600Z", creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(signer.Signature("20150830T123600Z", sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(authorization,
            SuiteAuthorization("host;x-amz-date",
                               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencoded) {
  SigV4Signer signer = SuiteSigner();
  const std::string body_hash = base::Sha256Hex("Param1=value1");
  ASSERT_EQ(body_hash, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  SigningRequest r =
      Request("POST", "/", {}, {{"Content-Type", "application/x-www-form-urlencoded"}}, body_hash);
  std::string authorization = signer.Sign(&r, kSuiteTime);
  const std::string creq = signer.CanonicalRequest(r);
  EXPECT_EQ(creq,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n" +
                body_hash);
  EXPECT_EQ(signer.StringToSign("20150830T123600Z", creq),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
  EXPECT_EQ(authorization,
            SuiteAuthorization("content-type;host;x-amz-date",
                               "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

struct SuiteCase {
  const char* name;
  const char* method;
  const char* path;  // as on the wire
  QueryParams query;
  Headers headers;
  const char* token;
  const char* signed_headers;
  const char* signature;
};

class SigV4SuiteVectors : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SigV4SuiteVectors, SignatureMatches) {
  const SuiteCase& c = GetParam();
  SigV4Signer signer = SuiteSigner(c.token);
  SigningRequest r = Request(c.method, c.path, c.query, c.headers);
  EXPECT_EQ(signer.Sign(&r, kSuiteTime), SuiteAuthorization(c.signed_headers, c.signature));
}

const char kStsToken[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7"
    "WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm"
    "8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
const char kUnreserved[] = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

INSTANTIATE_TEST_SUITE_P(
    Suite, SigV4SuiteVectors,
    ::testing::Values(
        SuiteCase{"post_vanilla",
                  "POST",
                  "/",
                  {},
                  {},
                  "",
                  "host;x-amz-date",
                  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
        SuiteCase{"get_vanilla_query_order_key_case",
                  "GET",
                  "/",
                  {{"Param2", "value2"}, {"Param1", "value1"}},
                  {},
                  "",
                  "host;x-amz-date",
                  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
        SuiteCase{"get_vanilla_query_unreserved",
                  "GET",
                  "/",
                  {{kUnreserved, kUnreserved}},
                  {},
                  "",
                  "host;x-amz-date",
                  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
        SuiteCase{"get_vanilla_utf8_query",
                  "GET",
                  "/",
                  {{"\xe1\x88\xb4", "bar"}},
                  {},
                  "",
                  "host;x-amz-date",
                  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
        // The suite's paths are raw on the wire; encoding them once more gives its canonical
        // URIs ("/%E1%88%B4", "/example%20space/").
        SuiteCase{"get_utf8",
                  "GET",
                  "/\xe1\x88\xb4",
                  {},
                  {},
                  "",
                  "host;x-amz-date",
                  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
        SuiteCase{"get_space_unnormalized",
                  "GET",
                  "/example space/",
                  {},
                  {},
                  "",
                  "host;x-amz-date",
                  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
        SuiteCase{"get_unreserved",
                  "GET",
                  "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                  {},
                  {},
                  "",
                  "host;x-amz-date",
                  "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
        SuiteCase{"get_header_value_trim",
                  "GET",
                  "/",
                  {},
                  {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}},
                  "",
                  "host;my-header1;my-header2;x-amz-date",
                  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
        SuiteCase{"get_header_key_duplicate",
                  "GET",
                  "/",
                  {},
                  {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
                  "",
                  "host;my-header1;x-amz-date",
                  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
        SuiteCase{"get_vanilla_with_session_token",
                  "GET",
                  "/",
                  {},
                  {},
                  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
                  "host;x-amz-date;x-amz-security-token",
                  "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
        SuiteCase{"post_sts_header_before",
                  "POST",
                  "/",
                  {},
                  {},
                  kStsToken,
                  "host;x-amz-date;x-amz-security-token",
                  "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SigV4S3Test, GetObjectExample) {
  SigV4Signer signer = S3Signer();
  SigningRequest r = Request("GET", "/test.txt", {},
                             {{"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptySha256}},
                             kEmptySha256, "examplebucket.s3.amazonaws.com");
  std::string authorization = signer.Sign(&r, kS3Time);
  const std::string creq = signer.CanonicalRequest(r);
  EXPECT_EQ(creq,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:" +
                std::string(kEmptySha256) +
                "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" +
                kEmptySha256);
  const std::string sts = signer.StringToSign("20130524T000000Z", creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3Test, PutObjectExampleEncodesTheDollarOnce) {
  SigV4Signer signer = S3Signer();
  const std::string body_hash = base::Sha256Hex("Welcome to Amazon S3.");
  const std::string path = "/" + UriEncode("test$file.text", true);
  ASSERT_EQ(path, "/test%24file.text");
  SigningRequest r = Request("PUT", path, {},
                             {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                              {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                              {"x-amz-content-sha256", body_hash}},
                             body_hash, "examplebucket.s3.amazonaws.com");
  std::string authorization = signer.Sign(&r, kS3Time);
  EXPECT_NE(signer.CanonicalRequest(r).find("\n/test%24file.text\n"), std::string::npos);
  EXPECT_EQ(authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3Test, BucketExamplesWithQueries) {
  struct Case {
    QueryParams query;
    const char* canonical_query;
    const char* signature;
  };
  for (const Case& c : {
           Case{{{"lifecycle", ""}},
                "lifecycle=",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
           Case{{{"prefix", "J"}, {"max-keys", "2"}},
                "max-keys=2&prefix=J",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
       }) {
    SigV4Signer signer = S3Signer();
    SigningRequest r = Request("GET", "/", c.query, {{"x-amz-content-sha256", kEmptySha256}},
                               kEmptySha256, "examplebucket.s3.amazonaws.com");
    std::string authorization = signer.Sign(&r, kS3Time);
    EXPECT_EQ(SigV4Signer::CanonicalQuery(c.query), c.canonical_query);
    EXPECT_EQ(authorization.substr(authorization.find("Signature=") + 10), c.signature)
        << c.canonical_query;
  }
}

TEST(SigV4Test, SingleAndDoubleEncodingOfTheSamePath) {
  const std::string wire = "/bucket/" + UriEncode("\xe1\x88\xb4 x+y", true);
  EXPECT_EQ(wire, "/bucket/%E1%88%B4%20x%2By");
  SigningRequest r = Request("GET", wire);
  r.headers.emplace_back("x-amz-date", "20150830T123600Z");
  auto uri_line = [](const std::string& creq) {
    size_t a = creq.find('\n') + 1;
    return creq.substr(a, creq.find('\n', a) - a);
  };
  EXPECT_EQ(uri_line(S3Signer().CanonicalRequest(r)), "/bucket/%E1%88%B4%20x%2By");
  EXPECT_EQ(uri_line(SuiteSigner().CanonicalRequest(r)), "/bucket/%25E1%2588%25B4%2520x%252By");
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b+c%d?e#f~g=h&i;j*k[l]m$n@o!p\"q'r/s", true),
            "a%20b%2Bc%25d%3Fe%23f~g%3Dh%26i%3Bj%2Ak%5Bl%5Dm%24n%40o%21p%22q%27r/s");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode(kUnreserved, false), kUnreserved);
  EXPECT_EQ(UriEncode("\xc3\xa9", false), "%C3%A9");
}

TEST(SigV4Test, UriDecode) {
  EXPECT_EQ(*UriDecode("a%20b%2Bc+d%e2%82%ac", true), "a b+c d\xe2\x82\xac");
  EXPECT_EQ(*UriDecode("a+b", false), "a+b");
  EXPECT_FALSE(UriDecode("bad%2", true).ok());
  EXPECT_FALSE(UriDecode("bad%zz", true).ok());
  EXPECT_FALSE(UriDecode("%", true).ok());
}

TEST(SigV4Test, AmzDate) {
  EXPECT_EQ(AmzDate(kSuiteTime), "20150830T123600Z");
  EXPECT_EQ(AmzDate(kS3Time), "20130524T000000Z");
}

}  // namespace
}  // namespace shadowfs::s3
