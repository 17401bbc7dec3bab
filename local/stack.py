"""The local stack: AWS endpoint, resources, functions, gateway, schedule and demo client, in order.

Start order matters in two places.  The APIs are served, and the rotation function's schedule
has run once (so a signing key exists), before any authorizer function is imported: an
authorizer may fetch the JWKS at import (ours does, to warm its cache), and it must find the
endpoint answering with keys.  The HTTP socket is bound before the functions are configured,
because ``ISSUER`` and ``JWKS_URI`` name its port (``IssuerUrl`` = ``http://127.0.0.1:<port>``).

Which API answers where: the template's REST APIs share ``PORT`` without a stage prefix, as they
always have (their routes may not collide; README and docs use these URLs).  Every other API has a
port of its own, from ``EXTRA_API_PORT`` on, so routes of different APIs never meet (an HTTP API's
``$default`` route takes any path): first the template's HTTP APIs, then each example stack's REST
APIs (all of one stack on one port) and HTTP APIs, stacks in name order.  An HTTP API is served as
API Gateway serves it, with its stage name as the first path segment (none for ``$default``).

:meth:`LocalStack.stop` undoes whatever :meth:`LocalStack.start` got to, in reverse, and may be
called more than once.
"""

from __future__ import annotations

import errno
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import boto3

from . import stack_state
from .api_description import DescribedGateway
from .assembly import (
    StackScope,
    exported_functions,
    function_definitions,
    http_apis,
    import_parameters,
    routes,
)
from .audit_streams import RECORDER, StreamPoller, audited_tables
from .aws_endpoint import AwsEndpoint
from .config import ACCOUNT_ID, LOOPBACK, REGION, STACK_NAME, ConfigError, LocalConfig, PortInUseError
from .demo_client import DemoClient, register_demo_client
from .gateway import Gateway
from .http_api import HttpApiGateway
from .http_server import LocalHttpServer, RequestLog, request_log
from .lambda_runtime import LambdaRuntime, print_error
from .offline_aws import OFFLINE_ENVIRONMENT, use_local_endpoint
from .resources import LocalResources, create_resources
from .rotation_scheduler import RotationScheduler
from .template_model import ScheduleSpec, TemplateModel
from .usage_plans import StackPlans, UsageMeter, assign_plan, read_usage_plans, stack_plans

UNAUTHORIZED = "Unauthorized"  # an authorizer's normal "401" answer: not an error worth a stack trace


def report_function_error(function_id: str, error: BaseException) -> None:
    if str(error) != UNAUTHORIZED:
        print_error(function_id, error)


def local_client(service: str, endpoint_url: str) -> Any:
    """A boto3 client of the local AWS endpoint (fake credentials, fixed region)."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=OFFLINE_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=OFFLINE_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=OFFLINE_ENVIRONMENT["AWS_SESSION_TOKEN"],
    )


@dataclass(frozen=True)
class _StackParts:
    """One stack on its way up: its model, names, parameter values and created resources."""

    model: TemplateModel
    scope: StackScope
    parameters: Mapping[str, str]
    resources: LocalResources


def _authorizer_functions(apis: list[ServedApi]) -> set[str]:
    """The functions any served API calls as an authorizer (imported last: they may fetch the JWKS)."""
    found: set[str] = set()
    for api in apis:
        found |= {r.authorizer.function_id for r in api.gateway.routes if r.authorizer is not None}
    return found


@dataclass(frozen=True)
class ServedApi:
    """One API the stack serves: its name, kind, where it answers and the gateway answering."""

    name: str  # "SampleApi", "SampleHttpApi", "inventory-api/InventoryApi"
    kind: str  # "REST" | "HTTP"
    base_url: str
    gateway: Gateway | HttpApiGateway

    @property
    def authorizer_calls(self) -> int:
        return self.gateway.authorizer_calls


@dataclass(frozen=True)
class RunningStack:
    """Everything a started stack is made of, and where it answers."""

    config: LocalConfig
    model: TemplateModel
    base_url: str
    aws_endpoint_url: str
    parameters: Mapping[str, str]
    resources: LocalResources
    runtime: LambdaRuntime
    gateway: Gateway
    demo_client: DemoClient
    apis: tuple[ServedApi, ...] = ()
    plans: StackPlans | None = None  # the partner plans (usage plans) the admin CLI's --plan names
    demo_plan: str | None = None  # the demo client's plan

    def url_of(self, method: str, path_suffix: str) -> str:
        """The URL of the open route whose path ends with ``path_suffix`` (e.g. the token endpoint)."""
        for route in self.gateway.routes:
            if route.method == method and route.authorizer is None and route.resource.endswith(path_suffix):
                return self.base_url + route.resource
        raise LookupError(f"no open {method} route ending with {path_suffix} in template.yaml")

    def protected_example_url(self) -> str:
        """A protected GET route without path parameters (for the printed curl line)."""
        for route in self.gateway.routes:
            if route.authorizer is not None and route.method == "GET" and "{" not in route.resource:
                return self.base_url + route.resource
        return self.base_url

    def demo_client_document(self) -> dict[str, Any]:
        """The content of ``.local/demo-client.json``."""
        return {
            "client_id": self.demo_client.client_id,
            "client_secret": self.demo_client.client_secret,
            "scopes": list(self.demo_client.scopes),
            "audience": self.demo_client.audience,
            "token_url": self.url_of("POST", "/token"),
            "api_url": self.base_url,
            "jwks_url": self.url_of("GET", "/jwks.json"),
            "aws_endpoint_url": self.aws_endpoint_url,
            "api_urls": self.api_urls(),
            "plan": self.demo_plan,  # its usage plan on the sample REST API (None: the stack has no plans)
        }

    def api_urls(self) -> dict[str, str]:
        """Every API's base URL by name."""
        return {api.name: api.base_url for api in self.apis}

    def state(self) -> stack_state.StackState:
        return stack_state.StackState(
            base_url=self.base_url,
            aws_endpoint_url=self.aws_endpoint_url,
            template=str(self.config.template_path),
            parameters=self.parameters,
            refs=self.resources.refs,
            function_log_level=self.config.function_log_level,
            api_urls=self.api_urls(),
            usage_plans=dict(self.plans.plan_ids) if self.plans is not None else {},
            usage_key_namespace=self.plans.namespace if self.plans is not None else "",
        )


class LocalStack:
    def __init__(self, config: LocalConfig, *, out: TextIO | None = None) -> None:
        self.config = config
        self._out = out or sys.stdout
        self._endpoint: AwsEndpoint | None = None
        self._servers: list[LocalHttpServer] = []
        self._scheduler: RotationScheduler | None = None
        self._audit_streams: RotationScheduler | None = None  # the recorder's stream mappings, polled
        self._wrote_state = False
        self._meter: UsageMeter | None = None  # usage plans of every served REST API

    def start(self) -> RunningStack:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> RunningStack:
        config = self.config
        model = TemplateModel.load(config.template_path)
        unknown = set(config.parameter_overrides) - set(model.template.get("Parameters") or {})
        if unknown:
            raise ConfigError(
                f"PARAMETER_OVERRIDES: not parameters of template.yaml: {', '.join(sorted(unknown))}"
            )
        example_models = [(path.parent.name, TemplateModel.load(path)) for path in config.example_templates()]
        self._endpoint = AwsEndpoint(config.aws_port)
        try:
            endpoint_url = self._endpoint.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(config.aws_port, "AWS_PORT") from error
            raise
        use_local_endpoint(endpoint_url)
        log = request_log(self._out)
        server = self._bind(config.port, "PORT", log)
        base_url = f"http://{LOOPBACK}:{server.port}"
        parameters = {**model.parameter_defaults(), **config.parameters(base_url)}

        def client(service: str) -> Any:
            return local_client(service, endpoint_url)

        resources = create_resources(
            dict(model.template), client, stack_name=STACK_NAME, parameters=parameters
        )
        main = _StackParts(
            model,
            StackScope(STACK_NAME, "", exported_functions(model, parameters, STACK_NAME)),
            parameters,
            resources,
        )
        examples = [self._example(name, example, main.scope, client) for name, example in example_models]
        definitions = [
            definition
            for stack in (main, *examples)
            for definition in function_definitions(
                stack.model,
                stack.resources.refs,
                stack.parameters,
                config.function_log_level,
                stack_name=stack.scope.name,
                id_prefix=stack.scope.id_prefix,
            )
        ]
        runtime = LambdaRuntime(
            definitions, region=REGION, account_id=ACCOUNT_ID, report_error=report_function_error
        )
        runtime.apply_shared_environment()
        apigateway = client("apigateway")
        endpoint = self._endpoint
        self._meter = UsageMeter(lambda: read_usage_plans(apigateway), lambda: endpoint.writes("apigateway"))
        gateway = Gateway(
            routes(model, resources.refs, parameters, f"{LOOPBACK}:{server.port}"), runtime, meter=self._meter
        )
        server.gateway = gateway
        apis = [
            ServedApi(api_id, "REST", base_url, gateway)
            for api_id in sorted({route.api.logical_id for route in gateway.routes})
        ]
        apis += self._http_apis(main, runtime, log)
        for example in examples:
            apis += self._example_apis(example, runtime, log)
        server.gateway = DescribedGateway.serving(gateway, {api.name: api.base_url for api in apis})
        authorizers = _authorizer_functions(apis)
        runtime.load([d.logical_id for d in definitions if d.logical_id not in authorizers])
        for api_server in self._servers:
            api_server.serve_in_background()
        self.run_schedules(model, runtime)  # bootstraps the signing keys
        runtime.load(sorted(authorizers))
        demo = register_demo_client(definitions, client)
        plans = stack_plans(model.template, resources.refs, parameters, STACK_NAME)
        # the demo client calls the sample REST API, which requires a key in a plan: the largest tier
        demo_plan = assign_plan(apigateway, plans, demo.client_id) if plans is not None else None
        running = RunningStack(
            config,
            model,
            base_url,
            endpoint_url,
            parameters,
            resources,
            runtime,
            gateway,
            demo,
            tuple(apis),
            plans,
            demo_plan,
        )
        self._write_state(running)
        if config.rotation_interval > 0 and model.schedules:
            self._scheduler = RotationScheduler(
                lambda: self.run_schedules(model, runtime),
                config.rotation_interval,
                lambda error: print_error("schedule", error),
            )
            self._scheduler.start()
        self._start_audit_streams(model, resources.refs, runtime, client)
        return running

    def _start_audit_streams(
        self, model: TemplateModel, refs: Mapping[str, str], runtime: LambdaRuntime, client: Any
    ) -> None:
        """Poll the audited tables' streams each second into the recorder (local/audit_streams.py)."""
        tables = audited_tables(model.template, refs)
        if not tables or RECORDER not in runtime.definitions:
            return
        poller = StreamPoller(
            client("dynamodb"),
            client("dynamodbstreams"),
            tables,
            lambda event: runtime.invoke(RECORDER, event),
        )

        def poll() -> None:
            poller.poll_once()

        self._audit_streams = RotationScheduler(poll, 1.0, lambda error: print_error("audit streams", error))
        self._audit_streams.start()

    def _bind(self, port: int, setting: str, log: RequestLog) -> LocalHttpServer:
        server = LocalHttpServer(port, None, log, setting=setting)
        self._servers.append(server)
        return server

    def _extra_server(self, log: RequestLog) -> LocalHttpServer:
        index = len(self._servers) - 1  # the first server is PORT's
        return self._bind(self.config.extra_port(index), "EXTRA_API_PORT", log)

    def _example(self, name: str, model: TemplateModel, main: StackScope, client: Any) -> _StackParts:
        """An example stack's resources; its functions run as ``<name>/<LogicalId>``."""
        stack_name = f"{STACK_NAME}-{name}"
        parameters = {**model.parameter_defaults(), **import_parameters(model)}
        resources = create_resources(
            dict(model.template), client, stack_name=stack_name, parameters=parameters, id_prefix=f"{name}/"
        )
        return _StackParts(model, StackScope(stack_name, f"{name}/", main.exports), parameters, resources)

    def _http_apis(self, stack: _StackParts, runtime: LambdaRuntime, log: RequestLog) -> list[ServedApi]:
        servers: dict[str, LocalHttpServer] = {}

        def host_of(api_id: str) -> str:
            servers[api_id] = self._extra_server(log)
            return f"{LOOPBACK}:{servers[api_id].port}"

        served = []
        for api in http_apis(stack.model, stack.resources.refs, stack.parameters, host_of, stack.scope):
            server = servers[api.logical_id]
            server.gateway = gateway = HttpApiGateway(api, runtime)
            url = f"http://{LOOPBACK}:{server.port}{api.base_path}"
            served.append(ServedApi(f"{stack.scope.id_prefix}{api.logical_id}", "HTTP", url, gateway))
        return served

    def _example_apis(self, stack: _StackParts, runtime: LambdaRuntime, log: RequestLog) -> list[ServedApi]:
        """An example stack's REST APIs (together on one port) and HTTP APIs (a port each)."""
        served: list[ServedApi] = []
        if stack.model.routes:
            server = self._extra_server(log)
            host = f"{LOOPBACK}:{server.port}"
            server.gateway = rest = Gateway(
                routes(stack.model, stack.resources.refs, stack.parameters, host, stack.scope),
                runtime,
                meter=self._meter,
            )
            served += [
                ServedApi(f"{stack.scope.id_prefix}{api_id}", "REST", f"http://{host}", rest)
                for api_id in sorted({route.api.logical_id for route in rest.routes})
            ]
        return served + self._http_apis(stack, runtime, log)

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._audit_streams is not None:
            self._audit_streams.stop()
            self._audit_streams = None
        while self._servers:
            self._servers.pop().stop()
        if self._endpoint is not None:
            self._endpoint.stop()
            self._endpoint = None
        if self._wrote_state:
            stack_state.remove(self.config.state_dir)
            self._wrote_state = False

    # -- the schedule ---------------------------------------------------------------------------

    def run_schedules(self, model: TemplateModel, runtime: LambdaRuntime) -> None:
        """Send each schedule's input to its function once (what EventBridge does on each tick)."""
        for schedule in model.schedules:
            self._report_schedule(schedule, runtime.invoke(schedule.function_id, dict(schedule.input)))

    def _report_schedule(self, schedule: ScheduleSpec, result: Any) -> None:
        moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event = json.dumps(dict(schedule.input), separators=(",", ":"))
        label = f"{moment} schedule {schedule.function_id} {event}"
        transitions = result.get("transitions") if isinstance(result, dict) else None
        if not isinstance(transitions, list):
            lines = [f"{label} -> {json.dumps(result)}"]
        elif not transitions:
            lines = [f"{label} -> no change"]
        else:
            lines = [
                f"{label} -> key {t.get('kid')}: {t.get('from')} -> {t.get('to')} ({t.get('reason')})"
                for t in transitions
            ]
        print("\n".join(lines), file=self._out, flush=True)

    # -- state files ----------------------------------------------------------------------------

    def _write_state(self, running: RunningStack) -> None:
        directory = self.config.state_dir
        stack_state.write_json(directory / stack_state.STACK_FILE, running.state().to_json())
        stack_state.write_json(directory / stack_state.DEMO_CLIENT_FILE, running.demo_client_document())
        self._wrote_state = True
