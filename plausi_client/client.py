"""``Client``: a synchronous, typed client of the Plausi REST API (docs/api.md, recipes in docs/recipes.md).

It speaks only HTTP (httpx) and imports nothing of the server, so a script can use it from any machine that
reaches the server. Paths are written in the API's canonical form, with their trailing slash.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, cast

import httpx

from plausi_client.errors import (
    ApiError,
    AuthenticationError,
    ChecksumMismatch,
    Conflict,
    NotFound,
    PermissionDenied,
    RunFailed,
    RunTimeout,
    Throttled,
)
from plausi_client.types import (
    Batch,
    BatchDetail,
    Candidate,
    Download,
    Estimate,
    IngestProblem,
    Label,
    Me,
    ModelVersion,
    Run,
    Token,
)

# Where each kind of run is read in full (the cross-kind /api/runs/<kind>/<id>/ has the common fields only).
RUN_PATHS = {
    "ingest": "/api/ingest-runs/{id}/",
    "filter": "/api/filter-runs/{id}/",
    "training": "/api/classifiers/training-runs/{id}/",
    "scoring": "/api/classifiers/scoring-runs/{id}/",
    "export": "/api/exports/{id}/",
    "generation": "/api/generation/runs/{id}/",
}
_ERRORS: dict[int, type[ApiError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: Throttled,
}

Progress = Callable[[Run], None]
"""Called with the run's record each time its status, phase or progress changes while it is waited for."""
UploadFile = str | os.PathLike[str] | tuple[str, bytes | IO[bytes]]
"""A file to upload: a path, or ``(name, content)`` with the content as bytes or an open binary file."""


class Client:
    """A session with one Plausi server, authenticated by an API token (``Authorization: Token <key>``).

    ``Client(base_url, token=...)`` with a token made on the tokens page (/account/tokens/), or
    ``Client.login(base_url, username, password)``, which exchanges a password for a new token. Use it as a context
    manager, or call ``close()``. Every error answer raises an ``ApiError`` (subclasses by status); a run that is
    waited for and fails raises ``RunFailed``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self.base_url = base_url.rstrip("/")
        self.token_info: Token | None = None
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._http.headers.update(headers)

    @classmethod
    def login(
        cls,
        base_url: str,
        username: str,
        password: str,
        *,
        token_name: str = "plausi-client",  # noqa: S107  # the token's label, not a secret
        expires_in_days: int | None = None,
        timeout: float = 60.0,
    ) -> Client:
        """Exchange a username and password for a new API token (``POST /api/auth/token/``) and return a client
        that uses it; the token is in ``client.token_info`` (its key is shown once). ``close_and_revoke()`` ends it."""
        client = cls(base_url, timeout=timeout)
        body: dict[str, Any] = {"username": username, "password": password, "name": token_name}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        try:
            data = client._request("POST", "/api/auth/token/", json=body)
        except ApiError as exc:
            client.close()
            if exc.status == 400 and not exc.fields:
                raise AuthenticationError(
                    method=exc.method, url=exc.url, status=exc.status, body=exc.body, retry_after=exc.retry_after
                ) from None
            raise
        client.token_info = Token(
            id=data["id"],
            name=data["name"],
            prefix=data["prefix"],
            key=data["token"],
            created_at=data["created_at"],
            expires_at=data.get("expires_at"),
        )
        client._http.headers["Authorization"] = f"Token {data['token']}"
        return client

    # --- plumbing -------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def close_and_revoke(self) -> None:
        """Revoke the token this client presents (``DELETE /api/auth/token/``), then close."""
        try:
            self._request("DELETE", "/api/auth/token/")
        finally:
            self.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        retry = response.headers.get("Retry-After")
        error_class = _ERRORS.get(response.status_code, ApiError)
        raise error_class(
            method=response.request.method,
            url=str(response.request.url),
            status=response.status_code,
            body=body,
            retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """A GET of any API path, decoded (for what this client does not wrap yet)."""
        return self._request("GET", path, params=_query(params or {}))

    def post(self, path: str, json: Any = None) -> Any:
        """A POST of a JSON body to any API path, decoded."""
        return self._request("POST", path, json=json if json is not None else {})

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int = 200) -> Iterator[Any]:
        """Every item of a paginated list (``limit``/``offset``, core/api/pagination.py), page by page. A list that
        is not paginated (a JSON array) is yielded whole."""
        query = _query(params or {})
        offset = 0
        while True:
            page = self._request("GET", path, params={**query, "limit": page_size, "offset": offset})
            if isinstance(page, list):
                yield from page
                return
            results = page["results"]
            yield from results
            offset += len(results)
            if not results or page.get("next") is None or offset >= int(page.get("count", 0)):
                return

    # --- who am I -------------------------------------------------------------------------------------------

    def me(self) -> Me:
        return cast(Me, self._request("GET", "/api/me/"))

    # --- ingest ---------------------------------------------------------------------------------------------

    def upload(
        self,
        files: UploadFile | Sequence[UploadFile],
        *,
        format: str = "",
        dry_run: bool = False,
        skip_invalid: bool = False,
    ) -> Run:
        """Upload files to ingest (``POST /api/ingest/``, admins; formats in docs/formats.md) and return the
        queued ingest run: ``wait_for_ingest`` follows it. ``format`` ("jsonl" or "csv") overrides the names."""
        items = [files] if isinstance(files, str | os.PathLike | tuple) else list(files)
        opened: list[IO[bytes]] = []
        parts: list[tuple[str, tuple[str, bytes | IO[bytes]]]] = []
        try:
            for item in items:
                if isinstance(item, tuple):
                    name, content = item
                else:
                    path = Path(item)
                    handle: IO[bytes] = path.open("rb")
                    opened.append(handle)
                    name, content = path.name, handle
                parts.append(("files", (name, content)))
            form = {"format": format, "dry_run": _flag(dry_run), "skip_invalid": _flag(skip_invalid)}
            record = self._request("POST", "/api/ingest/", files=parts, data=form)
        finally:
            for opened_file in opened:
                opened_file.close()
        return Run.from_record("ingest", record)

    def wait_for_ingest(self, run: Run | int, *, progress: Progress | None = None, timeout: float = 600.0) -> Run:
        """Wait for an ingest run to finish; a failed ingest raises ``RunFailed`` whose ``problems`` name the
        file, line and field of each problem found (the first 50)."""
        return self.wait(run if isinstance(run, Run) else self.run("ingest", run), progress=progress, timeout=timeout)

    # --- runs -----------------------------------------------------------------------------------------------

    def run(self, kind: str, run_id: int) -> Run:
        """A run's full record, from its kind's endpoint (the cross-kind one for a kind this client does not know)."""
        path = RUN_PATHS.get(kind, "/api/runs/" + kind + "/{id}/")
        return Run.from_record(kind, self._request("GET", path.format(id=int(run_id))))

    def runs(self, *, active: bool = False, limit: int = 50) -> list[Run]:
        """The newest runs of every kind you may see (``GET /api/runs/``; ``active``: queued and running only)."""
        records = self._request("GET", "/api/runs/", params={"active": _flag(active), "limit": limit})
        return [Run.from_record(record["kind"], record) for record in records]

    def wait(
        self,
        run: Run,
        *,
        progress: Progress | None = None,
        timeout: float = 600.0,
        poll: float = 0.25,
        max_poll: float = 5.0,
        raise_on_failure: bool = True,
    ) -> Run:
        """Poll a run until it has succeeded or failed and return its last record. The interval starts at
        ``poll`` seconds and grows by half each time nothing changed, up to ``max_poll`` (it starts over when
        something moves). ``progress`` is called with each changed record. A failed run raises ``RunFailed``
        (unless ``raise_on_failure`` is off); one still going after ``timeout`` seconds raises ``RunTimeout``."""
        deadline = time.monotonic() + timeout
        interval = poll
        seen: tuple[Any, ...] | None = None
        while True:
            state = (run.status, run.phase, run.progress, run.message)
            if state != seen:
                seen = state
                interval = poll
                if progress is not None:
                    progress(run)
            else:
                interval = min(max_poll, interval * 1.5)
            if run.finished:
                break
            if time.monotonic() >= deadline:
                raise RunTimeout(run, timeout)
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            run = self.run(run.kind, run.id)
        if run.status == "failed" and raise_on_failure:
            errors = run.data.get("errors", []) if run.kind == "ingest" else []
            problems = [IngestProblem(**problem) for problem in errors]
            raise RunFailed(run, problems)
        return run

    def start_filter(self, *, configuration_version: int | None = None) -> Run:
        """Filter the ingested candidates with the active (or a given) configuration (admins)."""
        record = self._request("POST", "/api/filter-runs/", json={"configuration_version": configuration_version})
        return Run.from_record("filter", record)

    def start_training(
        self, target: str, *, kind: str | None = None, params: Mapping[str, Any] | None = None, force: bool = False
    ) -> Run:
        """Train a classifier of a target (``plausible``, ``typical``) on the consolidated labels (admins). 409
        (``Conflict``) while a training of that target is in flight."""
        body: dict[str, Any] = {"target": target, "params": dict(params or {}), "force": force}
        if kind:
            body["kind"] = kind
        return Run.from_record("training", self._request("POST", "/api/classifiers/training-runs/", json=body))

    def model_versions(self, *, target: str | None = None) -> Iterator[ModelVersion]:
        """Classifier versions, newest first."""
        return cast(Iterator[ModelVersion], self.paginate("/api/classifiers/versions/", {"target": target}))

    def version_of_training(self, run: Run | int) -> ModelVersion:
        """The model version a succeeded training run produced."""
        run_id = run.id if isinstance(run, Run) else int(run)
        for version in self.model_versions():
            if version["training_run"] == run_id:
                return version
        raise LookupError(f"training run {run_id} produced no model version")

    def start_scoring(self, version: ModelVersion | int, *, force: bool = False) -> Run:
        """Activate a classifier version, which scores the whole pool with it: returns the scoring run (admins).
        ``force`` activates a version that the promotion rule kept back (otherwise ``Conflict``)."""
        version_id = version["id"] if isinstance(version, dict) else int(version)
        record = self._request("POST", f"/api/classifiers/versions/{version_id}/activate/", json={"force": force})
        return Run.from_record("scoring", record)

    def start_generation(self, *, backend: str, relations: Sequence[str], pairs: int, **options: Any) -> Run:
        """Generate candidate tails for the most observed behaviour pairs with an LLM backend (``openai`` or
        ``local``; options as in ``POST /api/generation/runs/``: categories, kinds, model, temperature, ...)."""
        body = {"backend": backend, "relations": list(relations), "pairs": pairs, **options}
        return Run.from_record("generation", self._request("POST", "/api/generation/runs/", json=body))

    def start_export(self, format: str, **filters: Any) -> Run:
        """Export the accepted graph (admins): ``format`` jsonl, neo4j, ntriples, instructions or spreadsheet;
        filters ``relations``, ``categories``, ``min_score``, ``approved_from``, ``approved_to``."""
        body = {"format": format, "filters": {name: value for name, value in filters.items() if value is not None}}
        return Run.from_record("export", self._request("POST", "/api/exports/", json=body))

    def exports(self) -> Iterator[Run]:
        return (Run.from_record("export", record) for record in self.paginate("/api/exports/"))

    def download_export(self, run: Run | int, target: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> Download:
        """Stream an export's file to ``target`` (a file, or a folder to put it in under the server's name) and
        check it against the ``X-Checksum-SHA256`` header; a mismatch removes the file and raises
        ``ChecksumMismatch``. The file is written next to its final name and renamed once verified."""
        run_id = run.id if isinstance(run, Run) else int(run)
        with self._http.stream("GET", f"/api/exports/{run_id}/download/") as response:
            if not response.is_success:
                response.read()
                self._raise_for(response)
            path = Path(target)
            if path.is_dir():
                path = path / (_attachment_name(response.headers.get("Content-Disposition", "")) or f"export-{run_id}")
            partial = path.with_name(path.name + ".part")
            digest = hashlib.sha256()
            size = 0
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes(chunk_size):
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
            expected = response.headers.get("X-Checksum-SHA256", "")
        if expected and digest.hexdigest() != expected.lower():
            partial.unlink()
            raise ChecksumMismatch(
                f"export {run_id}: got SHA-256 {digest.hexdigest()}, the server announced {expected}"
            )
        partial.replace(path)
        return Download(path=path, size=size, sha256=digest.hexdigest())

    # --- what the pipeline holds ----------------------------------------------------------------------------

    def candidates(
        self,
        *,
        status: str | None = None,
        relation: str | None = None,
        head_kind: str | None = None,
        category: str | None = None,
        ingest_run: int | None = None,
        search: str | None = None,
        page_size: int = 200,
    ) -> Iterator[Candidate]:
        """Candidates, newest first, filtered as ``GET /api/candidates/`` allows (curators, admins); every page
        is fetched as the iterator goes."""
        filters = {
            "status": status,
            "relation": relation,
            "head_kind": head_kind,
            "category": category,
            "ingest_run": ingest_run,
            "search": search,
        }
        return cast(Iterator[Candidate], self.paginate("/api/candidates/", filters, page_size=page_size))

    def candidate(self, candidate_id: int) -> Candidate:
        return cast(Candidate, self._request("GET", f"/api/candidates/{int(candidate_id)}/"))

    def labelled_candidates(self, *, relation: str | None = None) -> Iterator[Candidate]:
        """Candidates whose annotation is settled (status ``labelled``)."""
        return self.candidates(status="labelled", relation=relation)

    def labels(
        self,
        *,
        question: str | None = None,
        candidate: int | None = None,
        value: str | None = None,
        method: str | None = None,
        updated_after: str | None = None,
    ) -> Iterator[Label]:
        """Consolidated labels, newest change first (``GET /api/annotation/labels/``): ``question`` a slug,
        ``value`` "yes", "no" or "undecided", ``updated_after`` an ISO 8601 time. For every label at once, export
        the ``labels`` format instead (streamed)."""
        params = {
            "question": question,
            "candidate": candidate,
            "value": value,
            "method": method,
            "updated_after": updated_after,
        }
        return cast(Iterator[Label], self.paginate("/api/annotation/labels/", params))

    def agreement(self) -> dict[str, Any]:
        """Agreement per question and per-annotator statistics (``GET /api/annotation/agreement/``)."""
        return cast(dict[str, Any], self._request("GET", "/api/annotation/agreement/"))

    # --- curation -------------------------------------------------------------------------------------------

    def batches(self, *, status: str | None = None) -> Iterator[Batch]:
        """Review batches, newest first (``status``: auditing, approved, rejected)."""
        return cast(Iterator[Batch], self.paginate("/api/curation/batches/", {"status": status}))

    def create_batches(
        self, *, across_relations: bool = False, target_size: int | None = None, max_batches: int | None = None
    ) -> list[Batch]:
        """Form review batches of the scored candidates in no open batch; ``Conflict`` until every target has an
        active classifier."""
        body: dict[str, Any] = {"across_relations": across_relations}
        if target_size is not None:
            body["target_size"] = target_size
        if max_batches is not None:
            body["max_batches"] = max_batches
        return cast(list[Batch], self._request("POST", "/api/curation/batches/", json=body))

    def batch(self, batch_id: int) -> BatchDetail:
        """A batch with its estimate, histogram, audit sample (with the answers so far) and examples."""
        return cast(BatchDetail, self._request("GET", f"/api/curation/batches/{int(batch_id)}/"))

    def audit(self, batch_id: int, candidate_id: int, value: bool) -> Estimate:
        """Answer one audit question of a batch (is this candidate right?); returns the batch's new estimate."""
        body = {"candidate": candidate_id, "value": value}
        return cast(Estimate, self._request("POST", f"/api/curation/batches/{int(batch_id)}/audit/", json=body))

    def decide_batch(
        self, batch_id: int, *, approve: bool, override_reason: str = "", exclude_strata: Iterable[int] = ()
    ) -> Batch:
        """Approve (its candidates become accepted knowledge) or reject a fully audited batch. Approving under
        the precision bar needs an ``override_reason``."""
        body = {"approve": approve, "override_reason": override_reason, "exclude_strata": list(exclude_strata)}
        return cast(Batch, self._request("POST", f"/api/curation/batches/{int(batch_id)}/decision/", json=body))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def _attachment_name(disposition: str) -> str:
    """The file name of a ``Content-Disposition: attachment; filename="..."`` header, without any folder."""
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename" and value:
            return Path(value.strip().strip('"')).name
    return ""
