"""deploy/k8s: every manifest validates against the Kubernetes 1.30 schemas that ship in `kubernetes-validate`
(strict: unknown fields are errors), a broken one is rejected, and the ConfigMap holds only real settings.

The overlays are rendered with `kubectl kustomize` (kustomize built into kubectl); without kubectl those tests are
skipped and the base's plain files are still validated one by one. The CRDs (KubeRay's RayJob, the Prometheus
Operator's ServiceMonitor, KServe's InferenceService) have no schema in kubernetes-validate and their published
schemas cannot be fetched here (no network at test time), so they get structural checks: the pod templates of the
RayJob and the InferenceService validated as core PodTemplates, their command lines parsed by the real `sentiment`
parser, the ServiceMonitor's selector and port matched against the Service, the InferenceService's fields checked
against the pinned KServe SDK's model of the CRD.
"""

from __future__ import annotations

import copy
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.api.settings import ServiceSettings
from service.cli import build_parser
from service.core.paths import REPO

K8S = REPO / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = ["cpu", "gpu"]
K8S_VERSION = "1.30.0"
CRDS = {("ray.io/v1", "RayJob"), ("monitoring.coreos.com/v1", "ServiceMonitor")}  # + KServe's, tested below
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl (with its built-in kustomize) is not installed")


def validate(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def render(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def settings_env() -> dict[str, str]:
    lines = (BASE / "settings.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def check_settings(data: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """Every key is SENTIMENT_<a ServiceSettings field>, and the values parse into valid settings."""
    fields = {f"SENTIMENT_{name.upper()}" for name in ServiceSettings.model_fields}
    unknown = sorted(set(data) - fields)
    assert not unknown, f"not settings of service/api/settings.py: {unknown}"
    assert "SENTIMENT_API_KEY" not in data  # the key comes from the Secret
    for name in fields:
        monkeypatch.delenv(name, raising=False)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    return ServiceSettings()


def test_base_files_validate() -> None:
    """The base's plain files, one by one (runs without kubectl)."""
    names = ["deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "secret.example.yaml"]
    for name in names:
        validate(yaml.safe_load((BASE / name).read_text()))


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(overlay: str) -> None:
    docs = render(overlay)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceMonitor"]
    )
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                validate(doc)  # if a schema ever ships, this fails and the CRD gets validated for real
        else:
            validate(doc)


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_wiring(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(overlay)
    dep, svc, cm = by_kind(docs, "Deployment"), by_kind(docs, "Service"), by_kind(docs, "ConfigMap")
    pod = dep["spec"]["template"]["spec"]
    (api,) = pod["containers"]
    assert api["envFrom"] == [{"configMapRef": {"name": cm["metadata"]["name"]}}]  # the generated, hashed name
    settings = check_settings(cm["data"], monkeypatch)
    limits = api["resources"]["limits"]
    gpu = overlay == "gpu"
    assert settings.device == ("cuda" if gpu else "cpu")
    assert api["image"] == f"tweet-sentiment:{'cuda' if gpu else 'cpu'}"
    assert ("nvidia.com/gpu" in limits) == gpu
    assert api["ports"][0]["containerPort"] == settings.port
    assert pod["securityContext"]["runAsNonRoot"] and api["securityContext"]["readOnlyRootFilesystem"]
    assert {"name": "tmp", "mountPath": "/tmp"} in api["volumeMounts"]
    # graceful termination outlasts preStop + the longest in-flight request (SIGTERM drain bounded by timeout_s)
    assert pod["terminationGracePeriodSeconds"] > api["lifecycle"]["preStop"]["sleep"]["seconds"] + settings.timeout_s
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    selector = svc["spec"]["selector"]
    assert selector.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    for kind in ["PodDisruptionBudget", "ServiceMonitor"]:
        assert by_kind(docs, kind)["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    endpoint = by_kind(docs, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]} and endpoint["path"] == "/metrics"
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (hpa["kind"], hpa["name"]) == ("Deployment", dep["metadata"]["name"])


def test_configmap_keys_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    data = settings_env()
    settings = check_settings(data, monkeypatch)
    assert str(settings.model_dir) == "/app/models/default"  # where docker/Dockerfile bakes the model in


def test_configmap_check_rejects_an_unknown_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match="SENTIMENT_MAX_BATCH"):
        check_settings({**settings_env(), "SENTIMENT_MAX_BATCH": "64"}, monkeypatch)


def test_broken_manifests_are_rejected() -> None:
    good = yaml.safe_load((BASE / "deployment.yaml").read_text())
    validate(good)
    typo = copy.deepcopy(good)
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"  # unknown field (strict)
    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["replicas"] = "two"
    missing = copy.deepcopy(good)
    del missing["spec"]["selector"]
    for broken in [typo, wrong_type, missing]:
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(broken)


def test_rayjob_structure() -> None:
    job = yaml.safe_load((K8S / "ray" / "rayjob.yaml").read_text())
    assert (job["apiVersion"], job["kind"]) in CRDS
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(job)
    cluster = job["spec"]["rayClusterSpec"]
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:  # the pods KubeRay creates: core schema
        validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}, "template": group["template"]})
    for worker in cluster["workerGroupSpecs"]:
        assert worker["minReplicas"] <= worker["replicas"] <= worker["maxReplicas"]
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[:2] == ["sentiment", "score"]
    args = build_parser().parse_args(argv[1:])  # the real CLI's flags
    assert args.engine == "ray" and args.ray_address == "auto" and args.resume  # a retried job goes on
    assert args.output.endswith("/")  # the workers write their own shards into a directory
    mounts = [{m["mountPath"] for c in g["template"]["spec"]["containers"] for m in c["volumeMounts"]} for g in groups]
    assert all("/data" in m for m in mounts)  # the shards are readable on every node
    data = [m for g in groups for c in g["template"]["spec"]["containers"] for m in c["volumeMounts"]]
    assert not any(m.get("readOnly") for m in data if m["mountPath"] == "/data")  # and writable: workers write
    assert Path(args.input).is_relative_to("/data") and Path(args.output).is_relative_to("/data")
    assert args.model == "/app/models/default"
    ray_pin = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["ray"][0]
    assert ray_pin == f"ray[data]=={cluster['rayVersion']}"  # the version the image (--target ray) installs


def test_kserve_inferenceservice_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The V2 custom predictor: predictor fields known to the pinned KServe SDK's model of the CRD, its pod part a
    valid core PodTemplate (strict), the real CLI's flags and settings, the protocol's health routes as probes."""
    from kserve.models import V1beta1InferenceServiceSpec, V1beta1PredictorSpec
    from kubernetes.client import V1PodSpec

    isvc = yaml.safe_load((K8S / "kserve" / "inferenceservice.yaml").read_text())
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate(isvc)  # if a schema ever ships, this fails and the CRD gets validated for real
    assert set(isvc["spec"]) <= set(V1beta1InferenceServiceSpec.attribute_map.values())
    predictor = isvc["spec"]["predictor"]
    unknown = set(predictor) - set(V1beta1PredictorSpec.attribute_map.values())
    assert not unknown, f"not fields of KServe's PredictorSpec: {unknown}"
    pod_fields = set(V1PodSpec.attribute_map.values())
    pod = {k: v for k, v in predictor.items() if k in pod_fields}
    validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}, "template": {"spec": pod}})
    (api,) = pod["containers"]
    assert api["name"] == "kserve-container" and len(api["ports"]) == 1  # KServe routes to the one port
    argv = api["args"]
    assert argv[:2] == ["sentiment", "serve"]
    args = build_parser().parse_args(argv[1:])  # the real CLI's flags
    assert args.host == "0.0.0.0" and args.port == api["ports"][0]["containerPort"]
    settings = check_settings({e["name"]: e["value"] for e in api["env"] if "value" in e}, monkeypatch)
    assert 0 < settings.trace_sample <= 0.1 and predictor["timeout"] == settings.timeout_s
    assert [e["name"] for e in api["env"] if "valueFrom" in e] == ["SENTIMENT_API_KEY"]  # the key from the Secret
    assert api["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"  # open routes: no API key needed
    assert api["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert predictor["terminationGracePeriodSeconds"] > settings.timeout_s
