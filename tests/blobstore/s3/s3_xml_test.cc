#include "blobstore/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "blobstore/s3/object_headers.h"

namespace shadowfs::s3 {
namespace {

constexpr char kNs[] = " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";

TEST(S3XmlTest, ListObjectsV2WithUrlEncodedKeysAndPrefixes) {
  const std::string xml = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>") +
                          "<ListBucketResult" + kNs +
                          "><Name>b</Name><Prefix>dir%2F</Prefix><KeyCount>3</KeyCount>"
                          "<MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter>"
                          "<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>"
                          "<NextContinuationToken>opaque+token/=</NextContinuationToken>"
                          "<Contents><Key>dir%2Fwith%20space%2Bplus%25pct</Key>"
                          "<LastModified>2026-11-22T00:11:47.123Z</LastModified>"
                          "<ETag>&quot;9dd4e461268c8034f5c8564e155c67a6&quot;</ETag>"
                          "<Size>12345678901</Size><StorageClass>STANDARD</StorageClass></Contents>"
                          "<Contents><Key>dir%2Funi+%C3%A9</Key><LastModified>2026-11-22T00:11:47Z"
                          "</LastModified><ETag>&quot;abc-3&quot;</ETag><Size>0</Size></Contents>"
                          "<CommonPrefixes><Prefix>dir%2Fsub%2F</Prefix></CommonPrefixes>"
                          "</ListBucketResult>";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "dir/with space+plus%pct");
  EXPECT_EQ(page->objects[0].etag, "9dd4e461268c8034f5c8564e155c67a6");
  EXPECT_EQ(page->objects[0].size, 12345678901u);
  EXPECT_EQ(page->objects[0].last_modified,
            base::FromUnixSeconds(1795306307) + std::chrono::milliseconds(123));
  // AWS encodes a space as '+'.
  EXPECT_EQ(page->objects[1].key, "dir/uni \xc3\xa9");
  EXPECT_EQ(page->objects[1].etag, "abc-3");
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"dir/sub/"});
  EXPECT_TRUE(page->truncated);
  // The token is opaque: never decoded.
  EXPECT_EQ(page->next_continuation_token, "opaque+token/=");
}

TEST(S3XmlTest, ListObjectsV2WithoutEncodingTypeIsTakenLiterally) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "<Contents><Key>a%20b+c</Key><Size>1</Size><ETag>\"e\"</ETag></Contents>"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a%20b+c");
  EXPECT_FALSE(page->truncated);
  EXPECT_TRUE(page->common_prefixes.empty());
}

TEST(S3XmlTest, MalformedDocumentsAreCorruption) {
  for (const char* xml : {
           "",
           "not xml at all",
           "<ListBucketResult><Contents><Key>a</Key>",  // cut short
           "<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999999</Size>"
           "</Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>bad%zz</Key>"
           "<Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
           "<SomethingElse/>",
           "<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>",
       }) {
    auto page = ParseListObjectsV2(xml);
    EXPECT_EQ(page.status().code(), base::StatusCode::kCorruption) << xml;
    EXPECT_NE(page.status().message().find("ListObjectsV2"), std::string::npos)
        << page.status().message();
  }
}

TEST(S3XmlTest, ErrorDocuments) {
  const char xml[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>"
      "<Message>The specified key does not exist.</Message><Key>k</Key>"
      "<RequestId>tx0001</RequestId></Error>";
  EXPECT_TRUE(IsErrorDocument(xml));
  auto e = ParseError(xml);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The specified key does not exist.");
  EXPECT_EQ(e->request_id, "tx0001");

  EXPECT_FALSE(IsErrorDocument("<CopyObjectResult/>"));
  EXPECT_FALSE(IsErrorDocument("<Error"));
  EXPECT_EQ(ParseError("<Error><Message>no code</Message></Error>").status().code(),
            base::StatusCode::kCorruption);
  EXPECT_EQ(ParseError("<html>proxy error</html>").status().code(), base::StatusCode::kCorruption);
}

TEST(S3XmlTest, MultipartDocuments) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>2~abc</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "2~abc");
  EXPECT_EQ(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").status().code(),
            base::StatusCode::kCorruption);

  auto etag = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><Location>l</Location><ETag>&quot;abc-2&quot;</ETag>"
      "</CompleteMultipartUploadResult>");
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, "abc-2");
  // RGW 16 sends an empty ETag; the caller derives it.
  EXPECT_EQ(*ParseCompleteMultipartUpload(
                "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>"),
            "");
  // A 200 whose body is an error is not a completion.
  EXPECT_EQ(
      ParseCompleteMultipartUpload("<Error><Code>InternalError</Code></Error>").status().code(),
      base::StatusCode::kCorruption);

  EXPECT_EQ(BuildCompleteMultipartUpload({{1, "aa"}, {2, "\"bb\""}}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"aa\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag></Part></CompleteMultipartUpload>");
}

TEST(S3XmlTest, ListMultipartUploads) {
  auto page = ParseListMultipartUploads(
      "<ListMultipartUploadsResult><EncodingType>url</EncodingType>"
      "<IsTruncated>true</IsTruncated><NextKeyMarker>a%20b</NextKeyMarker>"
      "<NextUploadIdMarker>u2</NextUploadIdMarker>"
      "<Upload><Key>a%20b</Key><UploadId>u1</UploadId>"
      "<Initiated>2026-01-02T03:04:05.000Z</Initiated></Upload>"
      "<Upload><Key>c</Key><UploadId>u2</UploadId></Upload></ListMultipartUploadsResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->uploads.size(), 2u);
  EXPECT_EQ(page->uploads[0].key, "a b");
  EXPECT_EQ(page->uploads[0].upload_id, "u1");
  EXPECT_EQ(page->uploads[0].initiated, *ParseIso8601("2026-01-02T03:04:05Z"));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_key_marker, "a b");
  EXPECT_EQ(page->next_upload_id_marker, "u2");
  EXPECT_EQ(ParseListMultipartUploads("<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
                                      "</ListMultipartUploadsResult>")
                .status()
                .code(),
            base::StatusCode::kCorruption);
}

TEST(S3XmlTest, ListObjectVersionsKeepsServerOrderAndDeleteMarkers) {
  auto page = ParseListObjectVersions(
      "<ListVersionsResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
      "<DeleteMarker><Key>k%2B1</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest>"
      "</DeleteMarker>"
      "<Version><Key>k%2B1</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest>"
      "<ETag>\"e2\"</ETag><Size>5</Size></Version>"
      "<Version><Key>k%2B1</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"
      "<ETag>\"e1\"</ETag><Size>4</Size></Version></ListVersionsResult>");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->versions.size(), 3u);
  EXPECT_TRUE(page->versions[0].is_delete_marker);
  EXPECT_TRUE(page->versions[0].is_latest);
  EXPECT_EQ(page->versions[0].key, "k+1");
  EXPECT_EQ(page->versions[1].version_id, "v2");
  EXPECT_EQ(page->versions[1].etag, "e2");
  EXPECT_EQ(page->versions[1].size, 5u);
  EXPECT_FALSE(page->versions[2].is_latest);
}

TEST(S3XmlTest, CopyObjectResult) {
  auto r = ParseCopyObjectResult(
      "<CopyObjectResult><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
      "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->etag, "9b2cf535f27731c974343645a3985328");
  EXPECT_EQ(r->last_modified, base::FromUnixSeconds(1255369830));
  EXPECT_EQ(ParseCopyObjectResult("<Error><Code>InternalError</Code></Error>").status().code(),
            base::StatusCode::kCorruption);
}

TEST(S3XmlTest, BucketConfigurationBodies) {
  EXPECT_NE(BuildVersioningConfiguration(true).find("<Status>Enabled</Status>"), std::string::npos);
  EXPECT_NE(BuildVersioningConfiguration(false).find("<Status>Suspended</Status>"),
            std::string::npos);
  EXPECT_EQ(BuildCreateBucketConfiguration("us-east-1"), "");
  EXPECT_NE(BuildCreateBucketConfiguration("eu-west-1")
                .find("<LocationConstraint>eu-west-1</LocationConstraint>"),
            std::string::npos);
}

}  // namespace
}  // namespace shadowfs::s3
