#!/usr/bin/python3
"""A stand-in for grpcurl (github.com/fullstorydev/grpcurl) used by the doc-test.

grpcurl is a Go program and cannot be installed on the build machines (Debian 12 packages no
grpcurl, and there is no Go module proxy), yet the documentation shows grpcurl commands because
that is what operators use. This script implements the subset of grpcurl the docs use, the way
grpcurl does it: descriptors come from the server's reflection service (no .proto files here),
requests are parsed and responses printed with the canonical proto3 JSON mapping (lowerCamelCase
names, enum names, 64-bit integers as strings, RFC 3339 timestamps, defaults omitted, two-space
indentation), and an RPC error prints

    ERROR:
      Code: NotFound
      Message: ...

and exits with 64 + the status code, as grpcurl does.

Supported: -plaintext, -d DATA (or -d @ for stdin), -H 'name: value' (repeatable), -cacert,
-cert, -key, -servername / -authority, -max-time SECONDS, -emit-defaults; the verbs `list`,
`list SERVICE` and a method call SERVICE/METHOD (or SERVICE.METHOD).

Uses Debian's python3-grpcio and python3-protobuf. The reflection messages are built here from
the field numbers of grpc/reflection/v1alpha/reflection.proto.
"""

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

STATUS_OFFSET = 64
REFLECTION_METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def _reflection_classes():
    """The v1alpha reflection request/response messages, from their published field numbers."""
    f = descriptor_pb2.FileDescriptorProto(
        name="doc_test_reflection.proto", package="grpc.reflection.v1alpha", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto

    def message(name, fields, oneof=None):
        m = f.message_type.add(name=name)
        if oneof:
            m.oneof_decl.add(name=oneof[0])
        for number, fname, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = ".grpc.reflection.v1alpha." + type_name
            if oneof and fname in oneof[1]:
                fd.oneof_index = 0

    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    message("ServerReflectionRequest", [
        (1, "host", T.TYPE_STRING, opt, None),
        (3, "file_by_filename", T.TYPE_STRING, opt, None),
        (4, "file_containing_symbol", T.TYPE_STRING, opt, None),
        (7, "list_services", T.TYPE_STRING, opt, None),
    ], ("message_request", {"file_by_filename", "file_containing_symbol", "list_services"}))
    message("FileDescriptorResponse", [(1, "file_descriptor_proto", T.TYPE_BYTES, rep, None)])
    message("ServiceResponse", [(1, "name", T.TYPE_STRING, opt, None)])
    message("ListServiceResponse", [(1, "service", T.TYPE_MESSAGE, rep, "ServiceResponse")])
    message("ErrorResponse", [(1, "error_code", T.TYPE_INT32, opt, None),
                              (2, "error_message", T.TYPE_STRING, opt, None)])
    message("ServerReflectionResponse", [
        (1, "valid_host", T.TYPE_STRING, opt, None),
        (2, "original_request", T.TYPE_MESSAGE, opt, "ServerReflectionRequest"),
        (4, "file_descriptor_response", T.TYPE_MESSAGE, opt, "FileDescriptorResponse"),
        (6, "list_services_response", T.TYPE_MESSAGE, opt, "ListServiceResponse"),
        (7, "error_response", T.TYPE_MESSAGE, opt, "ErrorResponse"),
    ], ("message_response", {"file_descriptor_response", "list_services_response",
                             "error_response"}))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    get = lambda n: factory.GetPrototype(pool.FindMessageTypeByName("grpc.reflection.v1alpha." + n))
    return get("ServerReflectionRequest"), get("ServerReflectionResponse")


class Reflection:
    def __init__(self, channel, metadata, timeout):
        self._request, self._response = _reflection_classes()
        self._call = channel.stream_stream(
            REFLECTION_METHOD, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self._response.FromString)
        self._metadata = metadata
        self._timeout = timeout
        self.pool = descriptor_pool.DescriptorPool()
        self._files = {}

    def _ask(self, **kwargs):
        responses = list(self._call(iter([self._request(**kwargs)]), metadata=self._metadata,
                                    timeout=self._timeout))
        if len(responses) != 1:
            raise RuntimeError("reflection: expected one response")
        r = responses[0]
        if r.HasField("error_response"):
            raise LookupError(r.error_response.error_message)
        return r

    def services(self):
        return sorted(s.name for s in self._ask(list_services="").list_services_response.service)

    def _load(self, response):
        for raw in response.file_descriptor_response.file_descriptor_proto:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            self._files.setdefault(fdp.name, fdp)
        # Dependencies first; ask for any file the server did not send with the first answer.
        added = set()

        def add(name):
            if name in added:
                return
            if name not in self._files:
                for raw in self._ask(file_by_filename=name).file_descriptor_response.file_descriptor_proto:
                    fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
                    self._files.setdefault(fdp.name, fdp)
            for dep in self._files[name].dependency:
                add(dep)
            try:
                self.pool.Add(self._files[name])
            except TypeError:
                pass  # already in the pool
            added.add(name)

        for name in list(self._files):
            add(name)

    def service(self, name):
        try:
            return self.pool.FindServiceByName(name)
        except KeyError:
            self._load(self._ask(file_containing_symbol=name))
            return self.pool.FindServiceByName(name)


def _sorted_maps(message, value):
    """Orders the members of map fields and google.protobuf.Struct objects by key, as grpcurl
    (Go's protojson) prints them; Python prints them in its map's order."""
    if isinstance(value, dict) and message.full_name in ("google.protobuf.Struct",):
        return {k: _sorted_value(value[k]) for k in sorted(value)}
    if message.full_name == "google.protobuf.Value":
        return _sorted_value(value)
    if not isinstance(value, dict):
        return value
    out = {}
    by_json = {f.json_name: f for f in message.fields}
    for key, item in value.items():
        field = by_json.get(key)
        if field is None or field.message_type is None:
            out[key] = item
        elif field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[key] = {k: (_sorted_maps(value_field.message_type, item[k])
                            if value_field.message_type else item[k]) for k in sorted(item)}
        elif field.label == field.LABEL_REPEATED:
            out[key] = [_sorted_maps(field.message_type, i) for i in item]
        else:
            out[key] = _sorted_maps(field.message_type, item)
    return out


def _sorted_value(value):
    if isinstance(value, dict):
        return {k: _sorted_value(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_value(v) for v in value]
    return value


def _fail(message):
    sys.stderr.write(f"Failed to {message}\n")
    sys.exit(1)


def _credentials(opts):
    if opts["plaintext"]:
        return None
    read = lambda p: open(p, "rb").read() if p else None
    return grpc.ssl_channel_credentials(read(opts["cacert"]), read(opts["key"]),
                                        read(opts["cert"]))


def main(argv):
    opts = {"plaintext": False, "d": None, "H": [], "cacert": None, "cert": None, "key": None,
            "servername": None, "max-time": None, "emit-defaults": False}
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and len(a) > 1:
            name, _, value = a.lstrip("-").partition("=")
            if name in ("plaintext", "emit-defaults"):
                opts[name] = True
            elif name in ("d", "H", "cacert", "cert", "key", "servername", "authority", "max-time"):
                if not _:
                    i += 1
                    if i >= len(argv):
                        _fail(f"parse flags: -{name} needs a value")
                    value = argv[i]
                key = "servername" if name == "authority" else name
                if key == "H":
                    opts["H"].append(value)
                else:
                    opts[key] = value
            else:
                _fail(f"parse flags: unsupported flag -{name} (doc-test grpcurl stand-in)")
        else:
            args.append(a)
        i += 1
    if not args:
        _fail("parse arguments: too few arguments")
    target, verb = args[0], args[1:]

    metadata = []
    for h in opts["H"]:
        k, sep, v = h.partition(":")
        if not sep:
            _fail(f"parse header {h!r}")
        metadata.append((k.strip().lower(), v.strip()))
    timeout = float(opts["max-time"]) if opts["max-time"] else 10.0
    creds = _credentials(opts)
    options = [("grpc.ssl_target_name_override", opts["servername"])] if opts["servername"] else []
    channel = (grpc.insecure_channel(target, options) if creds is None
               else grpc.secure_channel(target, creds, options))
    reflection = Reflection(channel, metadata, timeout)

    try:
        if not verb or verb[0] == "list":
            if len(verb) <= 1:
                print("\n".join(reflection.services()))
            else:
                service = reflection.service(verb[1])
                for m in service.methods:
                    print(f"{service.full_name}.{m.name}")
            return 0
        symbol = verb[0]
        if "/" in symbol:
            service_name, method_name = symbol.rsplit("/", 1)
        else:
            service_name, method_name = symbol.rsplit(".", 1)
        try:
            method = reflection.service(service_name).methods_by_name[method_name]
        except (KeyError, LookupError):
            _fail(f"find method {symbol!r}")
        factory = message_factory.MessageFactory(reflection.pool)
        request_class = factory.GetPrototype(method.input_type)
        response_class = factory.GetPrototype(method.output_type)
        data = opts["d"] or "{}"
        if data == "@":
            data = sys.stdin.read()
        try:
            request = json_format.Parse(data, request_class(), descriptor_pool=reflection.pool)
        except json_format.ParseError as e:
            _fail(f"parse request data: {e}")
        call = channel.unary_unary(f"/{service_name}/{method_name}",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=response_class.FromString)
        response = call(request, metadata=metadata, timeout=timeout)
        as_dict = json_format.MessageToDict(response, descriptor_pool=reflection.pool,
                                            including_default_value_fields=opts["emit-defaults"])
        print(json.dumps(_sorted_maps(response.DESCRIPTOR, as_dict), indent=2,
                         ensure_ascii=False))
        return 0
    except grpc.RpcError as e:
        code = e.code()
        name = "".join(p.capitalize() for p in code.name.split("_"))
        if name == "Ok":
            name = "OK"
        sys.stderr.write(f"ERROR:\n  Code: {name}\n  Message: {e.details()}\n")
        return STATUS_OFFSET + code.value[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
