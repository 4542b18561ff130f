#include "cli/option_sources.h"

#include <toml++/toml.h>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

namespace shadowfs::cli {

using base::Status;

namespace {

// Options that say what to do this once (or where the file is), never how: not in the file.
const std::set<std::string, std::less<>> kCommandLineOnly = {"help",   "help-all", "version",
                                                             "config", "once",     "json"};

std::string NameOf(const CLI::Option* opt) {
  return opt->get_lnames().empty() ? "" : opt->get_lnames().front();
}

// The option of `cmd` named `name` (its long name, without dashes), if any.
CLI::Option* FindOption(CLI::App* cmd, std::string_view name) {
  for (CLI::Option* opt : cmd->get_options()) {
    for (const std::string& l : opt->get_lnames()) {
      if (l == name) return opt;
    }
  }
  return nullptr;
}

CLI::App* FindSubcommand(CLI::App* cmd, std::string_view name) {
  auto subs = cmd->get_subcommands([&](CLI::App* s) { return s->get_name() == name; });
  return subs.empty() ? nullptr : subs.front();
}

bool IsFlag(const CLI::Option* opt) { return opt->get_expected_min() == 0; }

// Gives `opt` the value `text` as if it had been typed; CLI11 converts and validates it.
Status SetOption(CLI::Option* opt, const std::string& text, const std::string& what) {
  try {
    opt->clear();
    opt->add_result(text);
    opt->run_callback();
  } catch (const CLI::Error& e) {
    return Status::InvalidArgument(what + ": " + e.what());
  }
  return Status::Ok();
}

std::optional<std::string> FlagValue(std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return "true";
  if (v == "false" || v == "no" || v == "off" || v == "0") return "false";
  return std::nullopt;
}

// --- the file ---

std::string Where(const std::string& path, const toml::source_region& src) {
  return path + ":" + std::to_string(src.begin.line) + ":" + std::to_string(src.begin.column) +
         ": ";
}

enum class Kind { kBool, kInteger, kNumber, kString };

Kind KindOf(const CLI::Option* opt) {
  if (IsFlag(opt)) return Kind::kBool;
  std::string type = opt->get_type_name();
  if (type.starts_with("INT") || type.starts_with("UINT")) return Kind::kInteger;
  if (type.starts_with("FLOAT") || type.starts_with("NUMBER")) return Kind::kNumber;
  return Kind::kString;
}

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kBool:
      return "true or false";
    case Kind::kInteger:
      return "an integer";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
      return "a string (in quotes)";
  }
  return "";
}

// The value of `node` as an option of kind `kind` would be typed, or nullopt if it has another
// TOML type.
std::optional<std::string> TextOf(const toml::node& node, Kind kind) {
  switch (kind) {
    case Kind::kBool:
      if (auto b = node.value_exact<bool>()) return *b ? "true" : "false";
      return std::nullopt;
    case Kind::kInteger:
      if (auto i = node.value_exact<int64_t>()) return std::to_string(*i);
      return std::nullopt;
    case Kind::kNumber: {
      std::optional<double> d;
      if (auto i = node.value_exact<int64_t>()) d = static_cast<double>(*i);
      if (auto f = node.value_exact<double>()) d = *f;
      if (!d) return std::nullopt;
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", *d);
      return std::string(buf);
    }
    case Kind::kString:
      if (auto s = node.value_exact<std::string>()) return *s;
      return std::nullopt;
  }
  return std::nullopt;
}

// Every option named `name` in `cmd` and the commands below it.
void CollectOptions(CLI::App* cmd, std::string_view name, std::vector<CLI::Option*>* out) {
  if (CLI::Option* opt = FindOption(cmd, name)) out->push_back(opt);
  for (CLI::App* sub : cmd->get_subcommands([](CLI::App*) { return true; })) {
    CollectOptions(sub, name, out);
  }
}

class FileChecker {
 public:
  explicit FileChecker(std::string path) : path_(std::move(path)) {}

  // `table` holds the options of `cmd` (top level: of any command) and tables of subcommands.
  Status Check(const toml::table& table, CLI::App* cmd, bool top_level) {
    for (const auto& [key, node] : table) {
      std::string name(key.str());
      std::string where = Where(path_, key.source());
      if (const toml::table* sub = node.as_table()) {
        CLI::App* subcommand = FindSubcommand(cmd, name);
        if (subcommand == nullptr) {
          return Status::InvalidArgument(std::string(where) + "unknown table [" + name +
                                         "]: tables are named after commands, as in [mount]");
        }
        SHADOWFS_RETURN_IF_ERROR(Check(*sub, subcommand, false));
        continue;
      }
      if (kCommandLineOnly.contains(name)) {
        return Status::InvalidArgument(std::string(where) + "'" + name +
                                       "' can only be given on the command line");
      }
      std::vector<CLI::Option*> options;
      if (top_level) {
        CollectOptions(cmd, name, &options);
      } else if (CLI::Option* opt = FindOption(cmd, name)) {
        options.push_back(opt);
      }
      if (options.empty()) {
        return Status::InvalidArgument(std::string(where) + "unknown option '" + name + "'" +
                                       (top_level ? "" : " in [" + cmd->get_name() + "]"));
      }
      for (CLI::Option* opt : options) {
        Kind kind = KindOf(opt);
        if (!TextOf(node, kind)) {
          return Status::InvalidArgument(std::string(where) + "'" + name + "' must be " +
                                         KindName(kind));
        }
      }
    }
    return Status::Ok();
  }

  // Gives the options of `cmd` without a value the one in `table`, else in `top`.
  Status Apply(CLI::App* cmd, const toml::table* table, const toml::table& top) {
    for (CLI::Option* opt : cmd->get_options()) {
      std::string name = NameOf(opt);
      if (name.empty() || opt->count() > 0 || kCommandLineOnly.contains(name)) continue;
      const toml::node* node = table ? table->get(name) : nullptr;
      if (node == nullptr || node->is_table()) node = top.get(name);
      if (node == nullptr || node->is_table()) continue;
      std::optional<std::string> text = TextOf(*node, KindOf(opt));
      if (!text) continue;  // Check refused it already
      SHADOWFS_RETURN_IF_ERROR(
          SetOption(opt, *text, Where(path_, node->source()) + "'" + name + "'"));
    }
    for (CLI::App* sub : cmd->get_subcommands()) {
      const toml::table* sub_table = table ? table->get_as<toml::table>(sub->get_name()) : nullptr;
      SHADOWFS_RETURN_IF_ERROR(Apply(sub, sub_table, top));
    }
    return Status::Ok();
  }

 private:
  std::string path_;
};

}  // namespace

Status ApplyOptionEntries(CLI::App* cmd, std::vector<std::string>* groups) {
  // What the command line set itself, before any entry changes a count.
  std::set<CLI::Option*> given;
  for (CLI::App* c = cmd; c != nullptr; c = c->get_parent()) {
    for (CLI::Option* opt : c->get_options()) {
      if (opt->count() > 0) given.insert(opt);
    }
  }
  std::vector<std::string> rest;
  for (const std::string& group : *groups) {
    std::stringstream in(group);
    std::string item;
    std::string kept;
    while (std::getline(in, item, ',')) {
      if (item.empty()) continue;
      size_t eq = item.find('=');
      std::string key = item.substr(0, eq);
      std::string name = key;
      // The flags' own spelling, and the underscore one fstab writers often use.
      if (!name.starts_with("_")) {
        for (char& c : name) {
          if (c == '_') c = '-';
        }
      }
      CLI::Option* opt = nullptr;
      if (!name.empty() && name != "help" && name != "version") {
        for (CLI::App* c = cmd; c != nullptr && opt == nullptr; c = c->get_parent()) {
          opt = FindOption(c, name);
        }
      }
      if (opt == nullptr) {
        kept += (kept.empty() ? "" : ",") + item;
        continue;
      }
      if (given.contains(opt)) continue;  // the flag wins
      std::string value;
      if (eq == std::string::npos) {
        if (!IsFlag(opt)) {
          std::string message = "-o " + key;
          message.append(" needs a value, as in ").append(key).append("=VALUE");
          return Status::InvalidArgument(message);
        }
        value = "true";
      } else {
        value = item.substr(eq + 1);
        if (IsFlag(opt)) {
          auto flag = FlagValue(value);
          if (!flag) {
            std::string message = "bad -o " + item;
            message.append(": ").append(key).append(
                " is a flag: give it alone, or =true or =false");
            return Status::InvalidArgument(message);
          }
          value = *flag;
        }
      }
      SHADOWFS_RETURN_IF_ERROR(SetOption(opt, value, "bad -o " + item));
    }
    if (!kept.empty()) rest.push_back(kept);
  }
  *groups = std::move(rest);
  return Status::Ok();
}

Status ApplyConfigFile(CLI::App* app, const std::string& path, bool must_exist) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!must_exist) return Status::Ok();
    return Status::InvalidArgument(path + ": no such configuration file");
  }
  toml::table top;
  try {
    top = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    if (e.source().begin.line == 0) return Status::InvalidArgument(path + ": " + description);
    return Status::InvalidArgument(Where(path, e.source()) + "malformed TOML: " + description);
  }
  FileChecker checker(path);
  SHADOWFS_RETURN_IF_ERROR(checker.Check(top, app, true));
  return checker.Apply(app, &top, top);
}

}  // namespace shadowfs::cli
