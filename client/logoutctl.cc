// logoutctl: a command-line client for logoutd, for operators and scripts. One JSON object on
// stdout (the response message, proto3 JSON mapping), errors as one JSON object on stderr, and an
// exit code a script can branch on. See kUsage (logoutctl --help) for the commands and codes.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/admin_client.h"
#include "client/decision_client.h"
#include "client/grpc_decision_client.h"
#include "client/internal/read_file.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "service/admin/audit_object.h"
#include "service/common/json_fields.h"
#include "service/common/status_macros.h"
#include "service/common/strict_json.h"

namespace logout {
namespace {

constexpr char kUsage[] = R"(Usage: logoutctl [global flags] COMMAND [flags and arguments]

Commands:
  validate --tenant T [--endpoint v2|oidc] [--query 'returnTo=...&client_id=...']
           [--method get|post] [--session_id SID]
      ValidateLogout with the query forwarded raw (logoutd parses it).
  federated-url --tenant T --connection C [--return_to URL] [--client_id ID] [--state S]
      BuildFederatedLogoutUrl.
  tenant list | tenant get|create|update|delete TENANT
  client list TENANT | client get|create|update|delete TENANT CLIENT_ID
  connection list TENANT | connection create|update|delete TENANT CONNECTION
      [--set FIELD=VALUE ...] [--add-url URL ...] [--remove-url URL ...] [--etag E] [--json]
      Everyday admin. --set sets a text, boolean or enum field (FIELD may be a path such as
      logout.logout_url); --add-url/--remove-url edit allowed_logout_urls (not connections).
      update reads the object, applies the edits and writes them with its etag, re-reading
      and retrying when someone else wrote in between (ABORTED). Output: a table for people,
      the response with --json. delete without --etag is unconditional.
  connection get TENANT CONNECTION
  connection update TENANT CONNECTION --logout '{ConnectionLogout as JSON}'
           --mask logout_url,return_to_param [--etag ETAG]
      UpdateConnectionLogout: only the masked fields change; without --etag unconditionally.
  policy export [--include_secrets]
  policy import FILE (--dry-run | --yes) [--allow-deletions] [--etag ETAG | --force]
           [--clear_connection_fields logout,options] [--clear_client_fields client_secret]
      FILE: a PolicyConfig (strict JSON, or textproto when named *.textproto/*.txtpb/*.pbtxt)
      or the output of `policy export`. An import replaces every tenant, so it is guarded:
      logoutctl first asks logoutd for the difference (a dry run) and prints it; --dry-run stops
      there; --yes then imports exactly against the policy that was diffed (its etag), so a
      change made meanwhile fails with ABORTED (exit 75). Removing a tenant, client or
      connection also needs --allow-deletions. --etag imports against an etag you already
      have (from `policy export`); --force previews without one (the import then applies to
      the policy previewed). Needs logoutd with guarded imports and an admin for every tenant.
  policy diff FILE
      The same as `policy import FILE --dry-run`.
  audit [--tenant T] [--limit N]
      Newest first, at most N (default 20) events; with --tenant only the events whose object is
      that tenant or inside it.
  outbox list [--tenant T] [--state pending|delivered|rejected|dead ...] [--limit N]
      The notification outbox (logoutd --deliver_backchannel): jobs newest first, at most N
      (default 20, max 1000).
  outbox requeue TENANT [--id JOB_ID ...]
      Dead letters of TENANT (or only the given jobs) become pending again with a new horizon.

Global flags:
  --target HOST:PORT       logoutd's decision address, any gRPC target (default localhost:50051)
  --admin_target HOST:PORT admin address when logoutd runs --admin_listen (default --target)
  --deadline DURATION      per call, retries included (default 5s; e.g. 250ms)
  --tls                    use TLS with the system roots (implied by the --tls_* flags)
  --tls_ca PEM             roots verifying logoutd's certificate
  --tls_cert PEM --tls_key PEM   client certificate for mutual TLS
  --tls_server_name NAME   verify the certificate against NAME instead of the target host
  --admin_token_file PATH  bearer token for admin commands (never printed)
  --fail_open              report an unreachable logoutd as failed_open instead of failed_closed
  --help

Output: the response as one JSON object on stdout. Errors: one JSON object on stderr,
{"code":"NOT_FOUND","message":"..."} (validate/federated-url add "outcome").

Exit codes:
   0  success (validate: DECISION_ALLOW)
   1  validate / federated-url: DECISION_DENY
   2  validate: DECISION_REQUIRE_CONFIRMATION
   3  validate / federated-url: logoutd unavailable, failed closed or open (see "outcome")
  64  usage error
  65  INVALID_ARGUMENT (also an unparsable --logout or policy FILE)
  66  NOT_FOUND (also a file that cannot be read)
  69  UNAVAILABLE or DEADLINE_EXCEEDED (admin commands)
  70  any other error (the JSON names the code)
  75  ABORTED: stale etag; read again and retry
  77  UNAUTHENTICATED or PERMISSION_DENIED
)";

constexpr size_t kMaxTokenBytes = 4096;
constexpr size_t kMaxPolicyBytes = 16 << 20;
constexpr size_t kMaxArgBytes = 64 << 10;
constexpr int kMaxAuditPageSize = 1000;
constexpr int kMaxAuditPages = 100;

enum ExitCode {
  kExitOk = 0,
  kExitDeny = 1,
  kExitConfirm = 2,
  kExitFailed = 3,
  kExitUsage = 64,
  kExitInvalid = 65,
  kExitNotFound = 66,
  kExitUnavailable = 69,
  kExitOther = 70,
  kExitAborted = 75,
  kExitDenied = 77,
};

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
      return kExitInvalid;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case absl::StatusCode::kAborted:
      return kExitAborted;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitDenied;
    default:
      return kExitOther;
  }
}

// --- Output.

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) return "{}";
  return out;
}

void PrintMessage(const google::protobuf::Message& message) {
  std::fprintf(stdout, "%s\n", ToJson(message).c_str());
  std::fflush(stdout);
}

// SortedJson prints a JSON value with the members of every object in key order: protobuf
// prints a Struct in its map's order, which differs from run to run.
std::string SortedJson(const google::protobuf::Value& value) {
  if (value.has_struct_value()) {
    std::vector<std::string> keys;
    for (const auto& [key, unused] : value.struct_value().fields()) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> members;
    for (const std::string& key : keys) {
      google::protobuf::Value name;
      name.set_string_value(key);
      members.push_back(
          absl::StrCat(SortedJson(name), ":", SortedJson(value.struct_value().fields().at(key))));
    }
    return absl::StrCat("{", absl::StrJoin(members, ","), "}");
  }
  if (value.has_list_value()) {
    std::vector<std::string> items;
    for (const auto& item : value.list_value().values()) items.push_back(SortedJson(item));
    return absl::StrCat("[", absl::StrJoin(items, ","), "]");
  }
  return ToJson(value);
}

// PrintError writes {"code":..., "message":..., ["outcome":...]} on stderr.
void PrintError(absl::string_view code, absl::string_view message, absl::string_view outcome = "") {
  google::protobuf::Value error;
  auto& fields = *error.mutable_struct_value()->mutable_fields();
  fields["code"].set_string_value(std::string(code));
  fields["message"].set_string_value(std::string(message));
  if (!outcome.empty()) fields["outcome"].set_string_value(std::string(outcome));
  std::fprintf(stderr, "%s\n", SortedJson(error).c_str());
}

int Fail(const absl::Status& status) {
  PrintError(absl::StatusCodeToString(status.code()), status.message());
  return ExitCodeFor(status.code());
}

int Usage(absl::string_view message) {
  PrintError("USAGE", absl::StrCat(message, " (see logoutctl --help)"));
  return kExitUsage;
}

// --- Arguments: `--name=value`, `--name value`, boolean `--name`; "--" ends flags.

const std::set<std::string>& GlobalValueFlags() {
  static const auto* flags =
      new std::set<std::string>{"target",   "admin_target", "deadline",        "tls_ca",
                                "tls_cert", "tls_key",      "tls_server_name", "admin_token_file"};
  return *flags;
}
const std::set<std::string>& GlobalBoolFlags() {
  static const auto* flags = new std::set<std::string>{"tls", "fail_open", "help"};
  return *flags;
}

struct Command {
  std::vector<std::string> words;  // e.g. {"connection", "get"}
  int positional;                  // arguments after the words
  std::set<std::string> value_flags;
  std::set<std::string> bool_flags;
};

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {{"validate"}, 0, {"tenant", "endpoint", "query", "method", "session_id"}, {}},
      {{"federated-url"}, 0, {"tenant", "connection", "return_to", "client_id", "state"}, {}},
      {{"tenant", "list"}, 0, {}, {"json"}},
      {{"tenant", "get"}, 1, {}, {"json"}},
      {{"tenant", "create"}, 1, {"set", "add_url"}, {"json"}},
      {{"tenant", "update"}, 1, {"set", "add_url", "remove_url", "etag"}, {"json"}},
      {{"tenant", "delete"}, 1, {"etag"}, {"json"}},
      {{"client", "list"}, 1, {}, {"json"}},
      {{"client", "get"}, 2, {}, {"json"}},
      {{"client", "create"}, 2, {"set", "add_url"}, {"json"}},
      {{"client", "update"}, 2, {"set", "add_url", "remove_url", "etag"}, {"json"}},
      {{"client", "delete"}, 2, {"etag"}, {"json"}},
      {{"connection", "list"}, 1, {}, {"json"}},
      {{"connection", "get"}, 2, {}, {}},
      {{"connection", "create"}, 2, {"set"}, {"json"}},
      {{"connection", "update"}, 2, {"logout", "mask", "etag", "set"}, {"json"}},
      {{"connection", "delete"}, 2, {"etag"}, {"json"}},
      {{"policy", "export"}, 0, {}, {"include_secrets"}},
      {{"policy", "import"},
       1,
       {"clear_connection_fields", "clear_client_fields", "etag"},
       {"dry_run", "yes", "allow_deletions", "force"}},
      {{"policy", "diff"}, 1, {}, {}},
      {{"audit"}, 0, {"tenant", "limit"}, {}},
      {{"outbox", "list"}, 0, {"tenant", "state", "limit"}, {}},
      {{"outbox", "requeue"}, 1, {"id"}, {}},
  };
  return *commands;
}

// Flags that may be given more than once (each value kept, in order).
const std::set<std::string>& RepeatableFlags() {
  static const auto* flags =
      new std::set<std::string>{"set", "add_url", "remove_url", "state", "id"};
  return *flags;
}

struct Args {
  std::map<std::string, std::string> flags;
  std::map<std::string, std::vector<std::string>> repeated;
  std::vector<std::string> positional;
  const Command* command = nullptr;

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
  bool Bool(const std::string& name) const { return Has(name) && Get(name) != "false"; }
};

bool IsValueFlag(const std::string& name) {
  if (GlobalValueFlags().count(name)) return true;
  for (const Command& c : Commands()) {
    if (c.value_flags.count(name)) return true;
  }
  return false;
}
bool IsBoolFlag(const std::string& name) {
  if (GlobalBoolFlags().count(name)) return true;
  for (const Command& c : Commands()) {
    if (c.bool_flags.count(name)) return true;
  }
  return false;
}

// ParseArgs fills `args` or returns a usage message.
std::optional<std::string> ParseArgs(int argc, char** argv, Args& args) {
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() > kMaxArgBytes) return "an argument is larger than 64 KiB";
    if (flags_done || !absl::StartsWith(arg, "--")) {
      args.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    std::replace(name.begin(), name.end(), '-', '_');  // --dry-run and --dry_run alike
    if (IsBoolFlag(name)) {
      if (value.has_value() && *value != "true" && *value != "false") {
        return absl::StrCat("--", name, " takes no value (or =true / =false)");
      }
      args.flags[name] = value.value_or("true");
    } else if (IsValueFlag(name)) {
      if (!value.has_value()) {
        if (i + 1 >= argc) return absl::StrCat("--", name, " needs a value");
        value = argv[++i];
      }
      args.flags[name] = *value;
      if (RepeatableFlags().count(name)) args.repeated[name].push_back(*value);
    } else {
      return absl::StrCat("unknown flag --", name);
    }
  }
  if (args.Bool("help")) return std::nullopt;
  // The command: the longest list of words that prefixes the positional arguments.
  for (const Command& c : Commands()) {
    if (args.positional.size() < c.words.size()) continue;
    bool match = true;
    for (size_t w = 0; w < c.words.size(); ++w) match = match && args.positional[w] == c.words[w];
    if (match) args.command = &c;
  }
  if (args.command == nullptr) {
    return args.positional.empty() ? "no command"
                                   : absl::StrCat("unknown command \"", args.positional[0], "\"");
  }
  args.positional.erase(args.positional.begin(),
                        args.positional.begin() + args.command->words.size());
  const std::string name = absl::StrJoin(args.command->words, " ");
  if (static_cast<int>(args.positional.size()) != args.command->positional) {
    return absl::StrCat("\"", name, "\" takes ", args.command->positional, " argument(s), got ",
                        args.positional.size());
  }
  for (const auto& [flag, value] : args.flags) {
    if (GlobalValueFlags().count(flag) || GlobalBoolFlags().count(flag)) continue;
    if (!args.command->value_flags.count(flag) && !args.command->bool_flags.count(flag)) {
      return absl::StrCat("\"", name, "\" does not take --", flag);
    }
  }
  return std::nullopt;
}

// --- Connections.

std::optional<TlsOptions> TlsFrom(const Args& args) {
  if (!args.Bool("tls") && !args.Has("tls_ca") && !args.Has("tls_cert") && !args.Has("tls_key") &&
      !args.Has("tls_server_name")) {
    return std::nullopt;
  }
  return TlsOptions{.ca_file = args.Get("tls_ca"),
                    .cert_file = args.Get("tls_cert"),
                    .key_file = args.Get("tls_key"),
                    .server_name = args.Get("tls_server_name")};
}

absl::StatusOr<absl::Duration> DeadlineFrom(const Args& args) {
  absl::Duration d;
  if (!absl::ParseDuration(args.Get("deadline", "5s"), &d) || d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--deadline must be a positive duration such as 250ms or 5s");
  }
  return d;
}

absl::StatusOr<std::unique_ptr<DecisionClient>> NewDecisionClient(const Args& args) {
  ClientOptions options;
  options.target = args.Get("target", "localhost:50051");
  absl::StatusOr<absl::Duration> deadline = DeadlineFrom(args);
  if (!deadline.ok()) return deadline.status();
  options.deadline = *deadline;
  options.tls = TlsFrom(args);
  options.fail_mode = args.Bool("fail_open") ? FailMode::kOpen : FailMode::kClosed;
  return CreateGrpcDecisionClient(options);
}

absl::StatusOr<std::unique_ptr<AdminClient>> NewAdminClient(const Args& args) {
  AdminClientOptions options;
  options.target = args.Get("admin_target", args.Get("target", "localhost:50051"));
  absl::StatusOr<absl::Duration> deadline = DeadlineFrom(args);
  if (!deadline.ok()) return deadline.status();
  options.deadline = *deadline;
  options.tls = TlsFrom(args);
  if (args.Has("admin_token_file")) {
    absl::StatusOr<std::string> token =
        client_internal::ReadFileLimited(args.Get("admin_token_file"), kMaxTokenBytes);
    if (!token.ok()) return token.status();
    options.bearer_token = std::string(client_internal::TrimToken(*token));
    if (options.bearer_token.empty()) {
      return absl::InvalidArgumentError("--admin_token_file is empty");
    }
  }
  return AdminClient::Create(options);
}

// --- Decision commands.

template <typename Response>
int FailedDecision(const DecisionResult<Response>& result) {
  PrintError(absl::StatusCodeToString(result.status.code()), result.status.message(),
             OutcomeName(result.outcome));
  return result.outcome == Outcome::kError ? ExitCodeFor(result.status.code()) : kExitFailed;
}

int Validate(const Args& args) {
  if (args.Get("tenant").empty()) return Usage("validate needs --tenant");
  v1::ValidateLogoutRequest request;
  request.set_tenant(args.Get("tenant"));
  const std::string endpoint = args.Get("endpoint", "v2");
  if (endpoint == "v2") {
    request.set_endpoint(v1::ENDPOINT_V2_LOGOUT);
  } else if (endpoint == "oidc") {
    request.set_endpoint(v1::ENDPOINT_OIDC_LOGOUT);
  } else {
    return Usage("--endpoint must be v2 or oidc");
  }
  const std::string method = args.Get("method", "get");
  if (method == "get") {
    request.set_http_method(v1::HTTP_METHOD_GET);
  } else if (method == "post") {
    request.set_http_method(v1::HTTP_METHOD_POST);
  } else {
    return Usage("--method must be get or post");
  }
  request.set_raw_query(args.Get("query"));
  request.set_session_id(args.Get("session_id"));
  absl::StatusOr<std::unique_ptr<DecisionClient>> client = NewDecisionClient(args);
  if (!client.ok()) return Fail(client.status());
  const DecisionResult<v1::ValidateLogoutResponse> result = (*client)->ValidateLogout(request);
  if (!result.decided()) return FailedDecision(result);
  PrintMessage(result.response);
  switch (result.response.decision()) {
    case v1::DECISION_ALLOW:
      return kExitOk;
    case v1::DECISION_REQUIRE_CONFIRMATION:
      return kExitConfirm;
    case v1::DECISION_DENY:
      return kExitDeny;
    default:
      return kExitOther;
  }
}

int FederatedUrl(const Args& args) {
  if (args.Get("tenant").empty() || args.Get("connection").empty()) {
    return Usage("federated-url needs --tenant and --connection");
  }
  v1::BuildFederatedLogoutUrlRequest request;
  request.set_tenant(args.Get("tenant"));
  request.set_connection(args.Get("connection"));
  request.set_return_to(args.Get("return_to"));
  request.set_client_id(args.Get("client_id"));
  request.set_state(args.Get("state"));
  absl::StatusOr<std::unique_ptr<DecisionClient>> client = NewDecisionClient(args);
  if (!client.ok()) return Fail(client.status());
  const DecisionResult<v1::BuildFederatedLogoutUrlResponse> result =
      (*client)->BuildFederatedLogoutUrl(request);
  if (!result.decided()) return FailedDecision(result);
  PrintMessage(result.response);
  return result.response.decision() == v1::DECISION_DENY ? kExitDeny : kExitOk;
}

// --- Admin commands.

template <typename Response>
int Print(const absl::StatusOr<Response>& response) {
  if (!response.ok()) return Fail(response.status());
  PrintMessage(*response);
  return kExitOk;
}

std::vector<std::string> SplitList(const std::string& list) {
  return absl::StrSplit(list, ',', absl::SkipWhitespace());
}

int ConnectionGet(const Args& args, AdminClient& admin) {
  v1::GetConnectionRequest request;
  request.set_tenant(args.positional[0]);
  request.set_connection(args.positional[1]);
  return Print(admin.GetConnection(request));
}

int ConnectionUpdate(const Args& args, AdminClient& admin) {
  if (!args.Has("logout") || args.Get("mask").empty()) {
    return Usage("connection update needs --logout and --mask");
  }
  v1::UpdateConnectionLogoutRequest request;
  request.set_tenant(args.positional[0]);
  request.set_connection(args.positional[1]);
  request.set_etag(args.Get("etag"));
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(args.Get("logout"), request.mutable_logout());
  if (!parsed.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "--logout is not a ConnectionLogout in JSON: ", parsed.message().as_string())));
  }
  for (const std::string& path : SplitList(args.Get("mask"))) {
    request.mutable_update_mask()->add_paths(path);
  }
  return Print(admin.UpdateConnectionLogout(request));
}

int PolicyExport(const Args& args, AdminClient& admin) {
  v1::ExportPolicyRequest request;
  request.set_include_secrets(args.Bool("include_secrets"));
  return Print(admin.ExportPolicy(request));
}

// ParsePolicyFile accepts a PolicyConfig (JSON or textproto) or `policy export` output.
absl::StatusOr<v1::PolicyConfig> ParsePolicyFile(const std::string& path,
                                                 const std::string& content) {
  v1::PolicyConfig policy;
  if (absl::EndsWith(path, ".textproto") || absl::EndsWith(path, ".txtpb") ||
      absl::EndsWith(path, ".pbtxt")) {
    if (!google::protobuf::TextFormat::ParseFromString(content, &policy)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" is not a PolicyConfig textproto"));
    }
    return policy;
  }
  // protobuf's JSON parser is lenient (single quotes, trailing commas, repeated keys): a typo
  // must be an error with its line and column, not a policy read differently than written.
  if (absl::Status strict = common::CheckStrictJson(content); !strict.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is not strict JSON: ", strict.message()));
  }
  // As a policy or as an export (each finds no fields in the other): each field once, in one
  // spelling.
  for (const google::protobuf::Descriptor* type :
       {v1::PolicyConfig::descriptor(), v1::ExportPolicyResponse::descriptor()}) {
    if (absl::Status once = common::CheckEachFieldOnce(content, *type); !once.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", path, "\": ", once.message()));
    }
  }
  v1::ExportPolicyResponse exported;
  if (google::protobuf::util::JsonStringToMessage(content, &exported).ok() &&
      exported.has_policy()) {
    return exported.policy();
  }
  const auto parsed = google::protobuf::util::JsonStringToMessage(content, &policy);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", path, "\" is not a PolicyConfig in JSON: ", parsed.message().as_string()));
  }
  return policy;
}

int PolicyImport(const Args& args, AdminClient& admin) {
  const std::string& path = args.positional[0];
  absl::StatusOr<std::string> content = client_internal::ReadFileLimited(path, kMaxPolicyBytes);
  if (!content.ok()) return Fail(content.status());
  absl::StatusOr<v1::PolicyConfig> policy = ParsePolicyFile(path, *content);
  if (!policy.ok()) return Fail(policy.status());
  const bool dry_run = args.Bool("dry_run") || args.command->words[1] == "diff";
  if (args.Bool("force") && args.Has("etag")) return Usage("--force and --etag exclude each other");
  v1::ImportPolicyRequest request;
  *request.mutable_policy() = *std::move(policy);
  for (const std::string& field : SplitList(args.Get("clear_connection_fields"))) {
    request.mutable_clear_connection_fields()->add_paths(field);
  }
  for (const std::string& field : SplitList(args.Get("clear_client_fields"))) {
    request.mutable_clear_client_fields()->add_paths(field);
  }
  request.set_allow_deletions(args.Bool("allow_deletions"));
  request.set_force(args.Bool("force"));
  request.set_expected_etag(args.Get("etag"));
  // A logoutd that predates guarded imports would ignore dry_run and import for real: only a
  // server whose export carries the policy etag is asked for a preview, bound to that etag.
  absl::StatusOr<v1::ExportPolicyResponse> current = admin.ExportPolicy(v1::ExportPolicyRequest());
  if (!current.ok()) return Fail(current.status());
  if (current->etag().empty()) {
    return Fail(absl::FailedPreconditionError(
        "logoutd returned no policy etag: it predates guarded imports (upgrade logoutd before "
        "logoutctl) or the credential is not an admin for every tenant; nothing was sent"));
  }
  if (request.expected_etag().empty() && !request.force()) {
    request.set_expected_etag(current->etag());
  }
  // The preview: what the import changes, and the etag of the policy it was computed against.
  request.set_dry_run(true);
  absl::StatusOr<v1::ImportPolicyResponse> preview = admin.ImportPolicy(request);
  if (!preview.ok()) return Print(preview);
  if (dry_run) return Print(preview);
  if (!args.Bool("yes")) {
    PrintMessage(*preview);  // the difference, for review
    return Usage(
        "nothing was imported: policy import replaces every tenant; review the difference above "
        "and run it again with --yes");
  }
  // The import applies only to the policy that was previewed (with --force too: what is
  // applied is what was shown).
  request.set_dry_run(false);
  request.set_force(false);
  request.set_expected_etag(preview->etag());
  return Print(admin.ImportPolicy(request));
}

bool EventIsForTenant(const v1::AuditEvent& event, const std::string& tenant) {
  return admin::AuditObjectTenant(event.object()) == tenant;
}

int Audit(const Args& args, AdminClient& admin) {
  int limit = 20;
  if (args.Has("limit") &&
      (!absl::SimpleAtoi(args.Get("limit"), &limit) || limit < 1 || limit > kMaxAuditPageSize)) {
    return Usage("--limit must be 1..1000");
  }
  const std::string tenant = args.Get("tenant");
  v1::ListAuditEventsResponse out;
  v1::ListAuditEventsRequest request;
  request.set_page_size(tenant.empty() ? limit : kMaxAuditPageSize);
  for (int page = 0; page < kMaxAuditPages && out.events_size() < limit; ++page) {
    absl::StatusOr<v1::ListAuditEventsResponse> events = admin.ListAuditEvents(request);
    if (!events.ok()) return Fail(events.status());
    for (const v1::AuditEvent& event : events->events()) {
      if (out.events_size() == limit) break;
      if (tenant.empty() || EventIsForTenant(event, tenant)) *out.add_events() = event;
    }
    if (events->events_size() < static_cast<int>(request.page_size())) break;
    request.set_before_version(events->events(events->events_size() - 1).policy_version());
  }
  PrintMessage(out);
  return kExitOk;
}

// --- Tenants, clients and connections: list/get/create/update/delete.

// Call runs one LogoutAdmin RPC with the client's deadline and credential.
template <typename Request, typename Response>
absl::StatusOr<Response> Call(AdminClient& admin,
                              grpc::Status (v1::LogoutAdmin::Stub::*method)(grpc::ClientContext*,
                                                                            const Request&,
                                                                            Response*),
                              const Request& request) {
  Response response;
  auto ctx = admin.NewContext();
  const grpc::Status status = (admin.stub().*method)(ctx.get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response;
}

// SetField applies `--set PATH=VALUE` to `message` (PATH: a scalar field, or a dotted path into
// message fields such as logout.logout_url) and returns the update_mask path.
absl::StatusOr<std::string> SetField(google::protobuf::Message& message,
                                     const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set needs FIELD=VALUE, got \"", assignment.substr(0, 64), "\""));
  }
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  google::protobuf::Message* target = &message;
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const google::protobuf::FieldDescriptor* f = target->GetDescriptor()->FindFieldByName(parts[i]);
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set: ", target->GetTypeName(), " has no field \"", parts[i], "\""));
    }
    const google::protobuf::Reflection* r = target->GetReflection();
    if (f->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("--set: ", path,
                                                     " is a list (use --add-url/--remove-url for "
                                                     "allowed_logout_urls, or policy import)"));
    }
    if (i + 1 < parts.size()) {
      if (f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
        return absl::InvalidArgumentError(absl::StrCat("--set: ", parts[i], " has no fields"));
      }
      target = r->MutableMessage(target, f);
      continue;
    }
    bool ok = true;
    switch (f->cpp_type()) {
      case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(target, f, value);
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_BOOL:
        ok = value == "true" || value == "false";
        if (ok) r->SetBool(target, f, value == "true");
        break;
      case google::protobuf::FieldDescriptor::CPPTYPE_ENUM: {
        const google::protobuf::EnumValueDescriptor* v = f->enum_type()->FindValueByName(value);
        ok = v != nullptr;
        if (ok) r->SetEnum(target, f, v);
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "--set: ", path, " is not a text, boolean or enum field (use policy import)"));
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("--set: \"", value.substr(0, 64), "\" is not a valid ", path));
    }
  }
  return path;
}

// EditUrls applies --add-url and --remove-url to `urls`; true when something changed.
absl::StatusOr<bool> EditUrls(const Args& args,
                              google::protobuf::RepeatedPtrField<std::string>* urls) {
  bool changed = false;
  const auto repeated = [&args](const std::string& name) {
    auto it = args.repeated.find(name);
    return it == args.repeated.end() ? std::vector<std::string>() : it->second;
  };
  for (const std::string& url : repeated("add_url")) {
    if (std::find(urls->begin(), urls->end(), url) != urls->end()) continue;
    *urls->Add() = url;
    changed = true;
  }
  for (const std::string& url : repeated("remove_url")) {
    auto it = std::find(urls->begin(), urls->end(), url);
    if (it == urls->end()) {
      return absl::NotFoundError(
          absl::StrCat("--remove-url \"", url.substr(0, 256), "\" is not in allowed_logout_urls"));
    }
    urls->erase(it);
    changed = true;
  }
  return changed;
}

// ApplyEdits applies every --set and --add-url/--remove-url to `object` and fills `mask`.
absl::Status ApplyEdits(const Args& args, google::protobuf::Message& object,
                        google::protobuf::RepeatedPtrField<std::string>* urls,
                        google::protobuf::FieldMask* mask) {
  auto sets = args.repeated.find("set");
  if (sets != args.repeated.end()) {
    for (const std::string& assignment : sets->second) {
      absl::StatusOr<std::string> path = SetField(object, assignment);
      if (!path.ok()) return path.status();
      mask->add_paths(*path);
    }
  }
  if (urls != nullptr) {
    absl::StatusOr<bool> changed = EditUrls(args, urls);
    if (!changed.ok()) return changed.status();
    if (*changed) mask->add_paths("allowed_logout_urls");
  } else if (args.repeated.count("add_url") || args.repeated.count("remove_url")) {
    return absl::InvalidArgumentError("connections have no allowed_logout_urls");
  }
  return absl::OkStatus();
}

// A table: one header row and aligned columns, for people (--json gives the response).
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

// One object for people: its JSON fields as "field: value" lines, then etag and version.
void PrintObject(const google::protobuf::Message& object, const std::string& etag,
                 uint64_t version) {
  google::protobuf::Struct fields;
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(object, &json, options);
  (void)google::protobuf::util::JsonStringToMessage(json, &fields);
  std::vector<std::vector<std::string>> rows;
  for (const google::protobuf::FieldDescriptor* f : [&object] {
         std::vector<const google::protobuf::FieldDescriptor*> all;
         for (int i = 0; i < object.GetDescriptor()->field_count(); ++i) {
           all.push_back(object.GetDescriptor()->field(i));
         }
         return all;
       }()) {
    auto it = fields.fields().find(f->name());
    if (it == fields.fields().end()) continue;
    std::string value;
    if (it->second.has_string_value()) {
      value = it->second.string_value();
    } else if (it->second.has_list_value()) {
      std::vector<std::string> items;
      for (const auto& v : it->second.list_value().values()) {
        std::string item;
        item = v.has_string_value() ? v.string_value() : SortedJson(v);
        items.push_back(item);
      }
      value = absl::StrJoin(items, ", ");
    } else {
      value = SortedJson(it->second);
    }
    rows.push_back({f->name() + ":", value});
  }
  rows.push_back({"etag:", etag});
  rows.push_back({"policy_version:", absl::StrCat(version)});
  PrintTable(rows);
}

template <typename Response>
int Show(const Args& args, const absl::StatusOr<Response>& response,
         const std::function<void(const Response&)>& human) {
  if (!response.ok()) return Fail(response.status());
  if (args.Bool("json")) {
    PrintMessage(*response);
  } else {
    human(*response);
  }
  return kExitOk;
}

// Update runs read-modify-write: read the object and its etag, apply the edits, write with the
// etag; on ABORTED (someone wrote in between) read again and retry, a few times.
// With --etag the write uses that etag, once: a stale one is ABORTED (exit 75), not retried.
template <typename Response>
int Update(const Args& args, const std::function<absl::StatusOr<Response>()>& read,
           const std::function<absl::StatusOr<Response>(Response)>& write,
           const std::function<void(const Response&)>& human) {
  const int attempts = args.Has("etag") ? 1 : 5;
  absl::StatusOr<Response> written = absl::AbortedError("not tried");
  for (int attempt = 0; attempt < attempts && absl::IsAborted(written.status()); ++attempt) {
    absl::StatusOr<Response> current = read();
    if (!current.ok()) return Fail(current.status());
    if (args.Has("etag")) current->set_etag(args.Get("etag"));
    written = write(*std::move(current));
  }
  return Show<Response>(args, written, human);
}

void HumanTenant(const v1::TenantResponse& r) {
  PrintObject(r.tenant(), r.etag(), r.policy_version());
}
void HumanClient(const v1::ClientResponse& r) {
  PrintObject(r.client(), r.etag(), r.policy_version());
}
void HumanConnection(const v1::ConnectionResponse& r) {
  PrintObject(r.connection(), r.etag(), r.policy_version());
}
void HumanDeleted(const v1::DeleteResponse& r) {
  std::printf("deleted (policy version %llu)\n",
              static_cast<unsigned long long>(r.policy_version()));
}

// ListEveryTenant reads ListTenants page by page (any number of tenants fits the message limits).
absl::StatusOr<v1::ListTenantsResponse> ListEveryTenant(AdminClient& admin) {
  v1::ListTenantsRequest request;
  request.set_page_size(500);
  v1::ListTenantsResponse all;
  while (true) {
    absl::StatusOr<v1::ListTenantsResponse> page =
        Call(admin, &v1::LogoutAdmin::Stub::ListTenants, request);
    if (!page.ok()) return page.status();
    for (v1::TenantResponse& t : *page->mutable_tenants()) *all.add_tenants() = std::move(t);
    if (page->next_page_token().empty()) return all;
    request.set_page_token(page->next_page_token());
  }
}

int TenantCommand(const Args& args, AdminClient& admin) {
  using S = v1::LogoutAdmin::Stub;
  const std::string& verb = args.command->words[1];
  if (verb == "list") {
    return Show<v1::ListTenantsResponse>(
        args, ListEveryTenant(admin), [](const v1::ListTenantsResponse& r) {
          std::vector<std::vector<std::string>> rows = {{"TENANT", "ISSUER", "URLS", "ETAG"}};
          for (const v1::TenantResponse& t : r.tenants()) {
            rows.push_back({t.tenant().name(), t.tenant().issuer(),
                            absl::StrCat(t.tenant().allowed_logout_urls_size()), t.etag()});
          }
          PrintTable(rows);
        });
  }
  const std::string& name = args.positional[0];
  v1::GetTenantRequest get;
  get.set_tenant(name);
  if (verb == "get")
    return Show<v1::TenantResponse>(args, Call(admin, &S::GetTenant, get), HumanTenant);
  if (verb == "create") {
    v1::CreateTenantRequest create;
    create.mutable_tenant()->set_name(name);
    google::protobuf::FieldMask ignored;
    if (absl::Status s =
            ApplyEdits(args, *create.mutable_tenant(),
                       create.mutable_tenant()->mutable_allowed_logout_urls(), &ignored);
        !s.ok()) {
      return Fail(s);
    }
    create.mutable_tenant()->set_name(name);  // the argument, whatever --set said
    return Show<v1::TenantResponse>(args, Call(admin, &S::CreateTenant, create), HumanTenant);
  }
  if (verb == "delete") {
    v1::DeleteTenantRequest del;
    del.set_tenant(name);
    del.set_etag(args.Get("etag"));
    return Show<v1::DeleteResponse>(args, Call(admin, &S::DeleteTenant, del), HumanDeleted);
  }
  return Update<v1::TenantResponse>(
      args, [&] { return Call(admin, &S::GetTenant, get); },
      [&](v1::TenantResponse current) -> absl::StatusOr<v1::TenantResponse> {
        v1::UpdateTenantRequest update;
        update.set_tenant(name);
        update.set_etag(current.etag());
        *update.mutable_tenant_update() = current.tenant();
        LOGOUT_RETURN_IF_ERROR(
            ApplyEdits(args, *update.mutable_tenant_update(),
                       update.mutable_tenant_update()->mutable_allowed_logout_urls(),
                       update.mutable_update_mask()));
        if (update.update_mask().paths().empty()) return current;  // nothing to change
        return Call(admin, &S::UpdateTenant, update);
      },
      HumanTenant);
}

int ClientCommand(const Args& args, AdminClient& admin) {
  using S = v1::LogoutAdmin::Stub;
  const std::string& verb = args.command->words[1];
  const std::string& tenant = args.positional[0];
  if (verb == "list") {
    v1::ListClientsRequest list;
    list.set_tenant(tenant);
    return Show<v1::ListClientsResponse>(
        args, Call(admin, &S::ListClients, list), [](const v1::ListClientsResponse& r) {
          std::vector<std::vector<std::string>> rows = {{"CLIENT_ID", "NAME", "URLS", "ETAG"}};
          for (const v1::ClientResponse& c : r.clients()) {
            rows.push_back({c.client().client_id(), c.client().name(),
                            absl::StrCat(c.client().allowed_logout_urls_size()), c.etag()});
          }
          PrintTable(rows);
        });
  }
  const std::string& id = args.positional[1];
  v1::GetClientRequest get;
  get.set_tenant(tenant);
  get.set_client_id(id);
  if (verb == "get")
    return Show<v1::ClientResponse>(args, Call(admin, &S::GetClient, get), HumanClient);
  if (verb == "create") {
    v1::CreateClientRequest create;
    create.set_tenant(tenant);
    create.mutable_client()->set_client_id(id);
    google::protobuf::FieldMask ignored;
    if (absl::Status s =
            ApplyEdits(args, *create.mutable_client(),
                       create.mutable_client()->mutable_allowed_logout_urls(), &ignored);
        !s.ok()) {
      return Fail(s);
    }
    create.mutable_client()->set_client_id(id);  // the argument, whatever --set said
    return Show<v1::ClientResponse>(args, Call(admin, &S::CreateClient, create), HumanClient);
  }
  if (verb == "delete") {
    v1::DeleteClientRequest del;
    del.set_tenant(tenant);
    del.set_client_id(id);
    del.set_etag(args.Get("etag"));
    return Show<v1::DeleteResponse>(args, Call(admin, &S::DeleteClient, del), HumanDeleted);
  }
  return Update<v1::ClientResponse>(
      args, [&] { return Call(admin, &S::GetClient, get); },
      [&](v1::ClientResponse current) -> absl::StatusOr<v1::ClientResponse> {
        v1::UpdateClientRequest update;
        update.set_tenant(tenant);
        update.set_client_id(id);
        update.set_etag(current.etag());
        *update.mutable_client() = current.client();  // its secret is empty: never in the mask
        LOGOUT_RETURN_IF_ERROR(ApplyEdits(args, *update.mutable_client(),
                                          update.mutable_client()->mutable_allowed_logout_urls(),
                                          update.mutable_update_mask()));
        if (update.update_mask().paths().empty()) return current;  // nothing to change
        return Call(admin, &S::UpdateClient, update);
      },
      HumanClient);
}

int ConnectionCommand(const Args& args, AdminClient& admin) {
  using S = v1::LogoutAdmin::Stub;
  const std::string& verb = args.command->words[1];
  const std::string& tenant = args.positional[0];
  if (verb == "list") {
    v1::ListConnectionsRequest list;
    list.set_tenant(tenant);
    return Show<v1::ListConnectionsResponse>(
        args, Call(admin, &S::ListConnections, list), [](const v1::ListConnectionsResponse& r) {
          std::vector<std::vector<std::string>> rows = {
              {"CONNECTION", "STRATEGY", "LOGOUT", "ETAG"}};
          for (const v1::ConnectionResponse& c : r.connections()) {
            const v1::ConnectionLogout& l = c.connection().logout();
            const std::string logout = !l.logout_url_template().empty() ? l.logout_url_template()
                                       : !l.logout_url().empty()        ? l.logout_url()
                                                                        : l.end_session_endpoint();
            rows.push_back({c.connection().name(), c.connection().strategy(), logout, c.etag()});
          }
          PrintTable(rows);
        });
  }
  const std::string& name = args.positional[1];
  v1::GetConnectionRequest get;
  get.set_tenant(tenant);
  get.set_connection(name);
  if (verb == "create") {
    v1::CreateConnectionRequest create;
    create.set_tenant(tenant);
    create.mutable_connection()->set_name(name);
    google::protobuf::FieldMask ignored;
    if (absl::Status s = ApplyEdits(args, *create.mutable_connection(), nullptr, &ignored);
        !s.ok()) {
      return Fail(s);
    }
    create.mutable_connection()->set_name(name);  // the argument, whatever --set said
    return Show<v1::ConnectionResponse>(args, Call(admin, &S::CreateConnection, create),
                                        HumanConnection);
  }
  if (verb == "delete") {
    v1::DeleteConnectionRequest del;
    del.set_tenant(tenant);
    del.set_connection(name);
    del.set_etag(args.Get("etag"));
    return Show<v1::DeleteResponse>(args, Call(admin, &S::DeleteConnection, del), HumanDeleted);
  }
  return Update<v1::ConnectionResponse>(
      args, [&] { return Call(admin, &S::GetConnection, get); },
      [&](v1::ConnectionResponse current) -> absl::StatusOr<v1::ConnectionResponse> {
        v1::UpdateConnectionRequest update;
        update.set_tenant(tenant);
        update.set_connection_name(name);
        update.set_etag(current.etag());
        *update.mutable_connection() = current.connection();
        LOGOUT_RETURN_IF_ERROR(
            ApplyEdits(args, *update.mutable_connection(), nullptr, update.mutable_update_mask()));
        if (update.update_mask().paths().empty()) return current;  // nothing to change
        return Call(admin, &S::UpdateConnection, update);
      },
      HumanConnection);
}

// --- The notification outbox.

int OutboxList(const Args& args, AdminClient& admin) {
  int limit = 20;
  if (args.Has("limit") &&
      (!absl::SimpleAtoi(args.Get("limit"), &limit) || limit < 1 || limit > kMaxAuditPageSize)) {
    return Usage("--limit must be 1..1000");
  }
  v1::ListNotificationJobsRequest request;
  request.set_tenant(args.Get("tenant"));
  request.set_page_size(static_cast<uint32_t>(limit));
  if (auto it = args.repeated.find("state"); it != args.repeated.end()) {
    for (const std::string& state : it->second) request.add_states(state);
  }
  absl::StatusOr<v1::ListNotificationJobsResponse> jobs =
      Call(admin, &v1::LogoutAdmin::Stub::ListNotificationJobs, request);
  if (!jobs.ok()) return Fail(jobs.status());
  PrintMessage(*jobs);
  return kExitOk;
}

int OutboxRequeue(const Args& args, AdminClient& admin) {
  v1::RequeueDeadLettersRequest request;
  request.set_tenant(args.positional[0]);
  if (auto it = args.repeated.find("id"); it != args.repeated.end()) {
    for (const std::string& id : it->second) {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(id, &n) || n == 0) return Usage("--id must be a job id (a number)");
      request.add_ids(n);
    }
  }
  absl::StatusOr<v1::RequeueDeadLettersResponse> done =
      Call(admin, &v1::LogoutAdmin::Stub::RequeueDeadLetters, request);
  if (!done.ok()) return Fail(done.status());
  PrintMessage(*done);
  return kExitOk;
}

int Run(int argc, char** argv) {
  Args args;
  if (std::optional<std::string> error = ParseArgs(argc, argv, args); error.has_value()) {
    return Usage(*error);
  }
  if (args.Bool("help")) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  const std::vector<std::string>& words = args.command->words;
  if (words[0] == "validate") return Validate(args);
  if (words[0] == "federated-url") return FederatedUrl(args);
  absl::StatusOr<std::unique_ptr<AdminClient>> admin = NewAdminClient(args);
  if (!admin.ok()) return Fail(admin.status());
  if (words[0] == "audit") return Audit(args, **admin);
  if (words[0] == "outbox") {
    return words[1] == "list" ? OutboxList(args, **admin) : OutboxRequeue(args, **admin);
  }
  if (words[0] == "tenant") return TenantCommand(args, **admin);
  if (words[0] == "client") return ClientCommand(args, **admin);
  // `connection get` and `connection update --logout` answer JSON as they always have.
  if (words[0] == "connection" && words[1] == "get") return ConnectionGet(args, **admin);
  if (words[0] == "connection" && words[1] == "update" && args.Has("logout")) {
    if (args.Has("set")) return Usage("--set and --logout exclude each other");
    return ConnectionUpdate(args, **admin);
  }
  if (args.Has("mask")) return Usage("--mask goes with --logout");
  if (words[0] == "connection") return ConnectionCommand(args, **admin);
  if (words[1] == "export") return PolicyExport(args, **admin);
  return PolicyImport(args, **admin);
}

}  // namespace
}  // namespace logout

int main(int argc, char** argv) { return logout::Run(argc, argv); }
