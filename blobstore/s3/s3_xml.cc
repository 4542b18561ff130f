#include "blobstore/s3/s3_xml.h"

#include <pugixml.hpp>

#include "blobstore/s3/object_headers.h"
#include "blobstore/s3/sigv4.h"

namespace shadowfs::s3 {

using base::Result;
using base::Status;

namespace {

// Parses `body` and returns its root element, which must be named `root` (if given).
Result<pugi::xml_node> LoadRoot(pugi::xml_document* doc, std::string_view body, const char* root,
                                std::string_view what) {
  pugi::xml_parse_result parsed =
      doc->load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return Status::Corruption("malformed XML in the " + std::string(what) + " response: " +
                              parsed.description() + " at byte " + std::to_string(parsed.offset));
  }
  pugi::xml_node node = doc->document_element();
  if (!node)
    return Status::Corruption("empty XML document in the " + std::string(what) + " response");
  if (root != nullptr && std::string_view(node.name()) != root) {
    return Status::Corruption("expected <" + std::string(root) + "> in the " + std::string(what) +
                              " response, got <" + node.name() + ">");
  }
  return node;
}

std::string Text(const pugi::xml_node& node, const char* child) {
  return node.child(child).text().as_string();
}

bool Bool(const pugi::xml_node& node, const char* child) {
  return std::string_view(node.child(child).text().as_string()) == "true";
}

// Decodes a field of a listing that the server says it url-encoded.
Result<std::string> Field(const pugi::xml_node& node, const char* child, bool url_encoded,
                          std::string_view what) {
  std::string raw = Text(node, child);
  if (!url_encoded) return raw;
  auto decoded = UriDecode(raw, true);
  if (!decoded.ok()) {
    return Status::Corruption("bad url-encoding of <" + std::string(child) + "> in the " +
                              std::string(what) + " response: " + decoded.status().message());
  }
  return *decoded;
}

Result<uint64_t> Size(const pugi::xml_node& node, std::string_view what) {
  std::string raw = Text(node, "Size");
  auto size = ParseUint64(raw);
  if (!size) {
    return Status::Corruption("bad <Size> '" + raw + "' in the " + std::string(what) + " response");
  }
  return *size;
}

base::WallTime Time(const pugi::xml_node& node, const char* child) {
  return ParseIso8601(Text(node, child)).value_or(base::WallTime{});
}

std::string Escape(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

bool IsErrorDocument(std::string_view body) {
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8)) {
    return false;
  }
  return std::string_view(doc.document_element().name()) == "Error";
}

Result<S3Error> ParseError(std::string_view body) {
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(&doc, body, "Error", "error"));
  S3Error e;
  e.code = Text(root, "Code");
  e.message = Text(root, "Message");
  e.request_id = Text(root, "RequestId");
  if (e.code.empty()) return Status::Corruption("<Error> response without a <Code>");
  return e;
}

Result<blobstore::ListPage> ParseListObjectsV2(std::string_view body) {
  constexpr std::string_view kWhat = "ListObjectsV2";
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(&doc, body, "ListBucketResult", kWhat));
  const bool url = Text(root, "EncodingType") == "url";
  blobstore::ListPage page;
  page.truncated = Bool(root, "IsTruncated");
  page.next_continuation_token = Text(root, "NextContinuationToken");
  for (pugi::xml_node c : root.children("Contents")) {
    blobstore::ObjectInfo info;
    SHADOWFS_ASSIGN_OR_RETURN(info.key, Field(c, "Key", url, kWhat));
    if (info.key.empty()) return Status::Corruption("<Contents> without a <Key> in ListObjectsV2");
    SHADOWFS_ASSIGN_OR_RETURN(info.size, Size(c, kWhat));
    info.etag = UnquoteEtag(Text(c, "ETag"));
    info.last_modified = Time(c, "LastModified");
    page.objects.push_back(std::move(info));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    SHADOWFS_ASSIGN_OR_RETURN(std::string prefix, Field(p, "Prefix", url, kWhat));
    page.common_prefixes.push_back(std::move(prefix));
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    return Status::Corruption("truncated ListObjectsV2 page without a NextContinuationToken");
  }
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(
      pugi::xml_node root,
      LoadRoot(&doc, body, "InitiateMultipartUploadResult", "CreateMultipartUpload"));
  std::string id = Text(root, "UploadId");
  if (id.empty()) return Status::Corruption("CreateMultipartUpload response without an UploadId");
  return id;
}

Result<std::string> ParseCompleteMultipartUpload(std::string_view body) {
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(
      pugi::xml_node root,
      LoadRoot(&doc, body, "CompleteMultipartUploadResult", "CompleteMultipartUpload"));
  // May be empty: RGW 16 answers <ETag></ETag> (the caller derives the ETag from the parts).
  return UnquoteEtag(Text(root, "ETag"));
}

Result<CopyResult> ParseCopyObjectResult(std::string_view body) {
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(pugi::xml_node root,
                            LoadRoot(&doc, body, "CopyObjectResult", "CopyObject"));
  CopyResult r;
  r.etag = UnquoteEtag(Text(root, "ETag"));
  r.last_modified = Time(root, "LastModified");
  if (r.etag.empty()) return Status::Corruption("CopyObject response without an ETag");
  return r;
}

Result<UploadsPage> ParseListMultipartUploads(std::string_view body) {
  constexpr std::string_view kWhat = "ListMultipartUploads";
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(pugi::xml_node root,
                            LoadRoot(&doc, body, "ListMultipartUploadsResult", kWhat));
  const bool url = Text(root, "EncodingType") == "url";
  UploadsPage page;
  page.truncated = Bool(root, "IsTruncated");
  SHADOWFS_ASSIGN_OR_RETURN(page.next_key_marker, Field(root, "NextKeyMarker", url, kWhat));
  page.next_upload_id_marker = Text(root, "NextUploadIdMarker");
  for (pugi::xml_node u : root.children("Upload")) {
    MultipartUploadInfo info;
    SHADOWFS_ASSIGN_OR_RETURN(info.key, Field(u, "Key", url, kWhat));
    info.upload_id = Text(u, "UploadId");
    info.initiated = Time(u, "Initiated");
    if (info.key.empty() || info.upload_id.empty()) {
      return Status::Corruption("<Upload> without a Key or UploadId in ListMultipartUploads");
    }
    page.uploads.push_back(std::move(info));
  }
  return page;
}

Result<VersionsPage> ParseListObjectVersions(std::string_view body) {
  constexpr std::string_view kWhat = "ListObjectVersions";
  pugi::xml_document doc;
  SHADOWFS_ASSIGN_OR_RETURN(pugi::xml_node root, LoadRoot(&doc, body, "ListVersionsResult", kWhat));
  const bool url = Text(root, "EncodingType") == "url";
  VersionsPage page;
  page.truncated = Bool(root, "IsTruncated");
  SHADOWFS_ASSIGN_OR_RETURN(page.next_key_marker, Field(root, "NextKeyMarker", url, kWhat));
  page.next_version_id_marker = Text(root, "NextVersionIdMarker");
  for (pugi::xml_node v : root.children()) {
    std::string_view name = v.name();
    if (name != "Version" && name != "DeleteMarker") continue;
    ObjectVersion version;
    SHADOWFS_ASSIGN_OR_RETURN(version.key, Field(v, "Key", url, kWhat));
    version.version_id = Text(v, "VersionId");
    version.is_latest = Bool(v, "IsLatest");
    version.is_delete_marker = name == "DeleteMarker";
    if (!version.is_delete_marker) {
      version.etag = UnquoteEtag(Text(v, "ETag"));
      SHADOWFS_ASSIGN_OR_RETURN(version.size, Size(v, kWhat));
    }
    if (version.key.empty()) return Status::Corruption("<" + std::string(name) + "> without a Key");
    page.versions.push_back(std::move(version));
  }
  return page;
}

std::string BuildCompleteMultipartUpload(const std::vector<std::pair<int, std::string>>& parts) {
  std::string out = "<CompleteMultipartUpload>";
  for (const auto& [number, etag] : parts) {
    out += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
           Escape(QuoteEtag(etag)) + "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string BuildVersioningConfiguration(bool enabled) {
  return std::string(
             "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
             "<Status>") +
         (enabled ? "Enabled" : "Suspended") + "</Status></VersioningConfiguration>";
}

std::string BuildCreateBucketConfiguration(std::string_view region) {
  if (region.empty() || region == "us-east-1") return "";
  return "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<LocationConstraint>" +
         Escape(region) + "</LocationConstraint></CreateBucketConfiguration>";
}

}  // namespace shadowfs::s3
