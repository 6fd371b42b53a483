"""LLM backends behind one interface: ``generate(prompts, sampling) -> list[Completion]`` in prompt order.

- ``OpenAICompatibleBackend``: the ``/chat/completions`` API that vLLM, TGI, llama.cpp's server and Ollama expose.
  Requests run concurrently on asyncio (``max_concurrency`` in flight, 32 by default), optionally rate-limited
  (``requests_per_second``: request starts are spaced), and only transient failures are retried (timeouts,
  connection errors, 408, 409, 429 and 5xx, with exponential backoff); any other error is final for that prompt.
- ``LocalCausalLMBackend``: a transformers causal LM from a local folder, batched with left padding, on CUDA when
  present (bf16), greedy or sampled.
- ``CosmoLMBackend``: a COSMO-LM version's artifact (its base plus adapters, ``classifiers.ml.lm``), prompted in
  the format it was trained on; its answer (tails joined by " | ") comes back as the numbered list the parser reads.
  To serve a version from an OpenAI-compatible server instead, merge it (``python -m classifiers.ml.lm merge``)
  and point ``OpenAICompatibleBackend`` at the server (docs/cosmo_lm.md).

A failed prompt is a ``Completion`` with ``error`` set; a backend never raises for one bad prompt.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

TRANSIENT_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 160
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens, "seed": self.seed}


@dataclass
class Completion:
    text: str | None
    error: str | None = None
    attempts: int = 1
    transient_failures: int = 0


@dataclass
class BackendStats:
    requests: int = 0
    retries: int = 0
    max_in_flight: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class Backend(Protocol):
    model_name: str

    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Completion]: ...


class OpenAICompatibleBackend:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        max_concurrency: int = 32,
        requests_per_second: float | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model
        self.api_key = api_key
        self.max_concurrency = max(1, max_concurrency)
        self.interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.stats = BackendStats()

    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Completion]:
        return asyncio.run(self._generate_all(list(prompts), sampling))

    async def _generate_all(self, prompts: list[str], sampling: Sampling) -> list[Completion]:
        import httpx

        semaphore = asyncio.Semaphore(self.max_concurrency)
        in_flight = 0
        next_start = time.monotonic()
        start_lock = asyncio.Lock()
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)

        async def paced() -> None:
            nonlocal next_start
            if not self.interval:
                return
            async with start_lock:
                wait = next_start - time.monotonic()
                next_start = max(next_start, time.monotonic()) + self.interval
            if wait > 0:
                await asyncio.sleep(wait)

        async def one(client: httpx.AsyncClient, prompt: str) -> Completion:
            nonlocal in_flight
            body = {
                "model": self.model_name,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "max_tokens": sampling.max_tokens,
                **({"seed": sampling.seed} if sampling.seed is not None else {}),
            }
            transient = 0
            last_error = ""
            async with semaphore:
                for attempt in range(1, self.max_retries + 2):
                    await paced()
                    in_flight += 1
                    self.stats.max_in_flight = max(self.stats.max_in_flight, in_flight)
                    self.stats.requests += 1
                    retry = False
                    try:
                        response = await client.post(f"{self.base_url}/chat/completions", json=body)
                        if response.status_code == 200:
                            text = _content(response.json())
                            if text is None:
                                return Completion(None, "the response has no message content", attempt, transient)
                            return Completion(text, None, attempt, transient)
                        last_error = f"HTTP {response.status_code}"
                        retry = response.status_code in TRANSIENT_STATUS
                    except (httpx.TimeoutException, httpx.TransportError) as exc:
                        last_error = type(exc).__name__
                        retry = True
                    except ValueError:
                        return Completion(None, "the response is not JSON", attempt, transient)
                    finally:
                        in_flight -= 1
                    if not retry:
                        break
                    transient += 1
                    if attempt <= self.max_retries:
                        self.stats.retries += 1
                        await asyncio.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            self.stats.errors[last_error] = self.stats.errors.get(last_error, 0) + 1
            return Completion(None, last_error, attempt, transient)

        async with httpx.AsyncClient(timeout=self.timeout, headers=headers, limits=limits) as client:
            return list(await asyncio.gather(*(one(client, prompt) for prompt in prompts)))


def _content(payload: Any) -> str | None:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


class LocalCausalLMBackend:
    def __init__(
        self, *, model_path: str, device: str | None = None, batch_size: int = 16, gguf_file: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model_path.rstrip("/").rsplit("/", 1)[-1] + (f"/{gguf_file}" if gguf_file else "")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # GGUF holds no pickle; otherwise only safetensors weights are read (a pickled .bin runs code when loaded)
        extra: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {"use_safetensors": True}
        self.tokenizer = AutoTokenizer.from_pretrained(
            model_path, local_files_only=True, **({"gguf_file": gguf_file} if gguf_file else {})
        )
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        model: Any = AutoModelForCausalLM.from_pretrained(model_path, local_files_only=True, dtype=dtype, **extra)
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size
        self.stats = BackendStats()

    def _text(self, prompt: str) -> str:
        """The prompt as the model reads it, ending with "1." (a prefilled start of the answer: small models
        then write the numbered list they were asked for instead of a sentence)."""
        if getattr(self.tokenizer, "chat_template", None):
            chat = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            return f"{chat}1."
        return prompt + "\n1."

    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Completion]:
        import torch

        out: list[Completion] = []
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        for start in range(0, len(prompts), self.batch_size):
            chunk = [self._text(p) for p in prompts[start : start + self.batch_size]]
            self.stats.requests += 1
            try:
                inputs = self.tokenizer(chunk, return_tensors="pt", padding=True).to(self.device)
                with torch.inference_mode():
                    generated = self.model.generate(
                        **inputs,
                        max_new_tokens=sampling.max_tokens,
                        do_sample=sampling.temperature > 0,
                        temperature=sampling.temperature if sampling.temperature > 0 else None,
                        top_p=sampling.top_p if sampling.temperature > 0 else None,
                        pad_token_id=self.tokenizer.pad_token_id,
                    )
                new_tokens = generated[:, inputs["input_ids"].shape[1] :]
                texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
                out += [Completion("1." + text) for text in texts]
            except Exception as exc:  # one failing batch is counted, the run goes on
                out += [Completion(None, f"{type(exc).__name__}: {exc}"[:300]) for _ in chunk]
        return out


class CosmoLMBackend:
    """A COSMO-LM version run locally. A prompt is ``instruction`` + newline + ``input`` (``cosmo_prompt``); the
    model's tails come back as "1. tail" lines, so ``parse_explanations`` treats them like any LLM's list."""

    def __init__(
        self, *, artifact: str, device: str | None = None, batch_size: int = 16, base: str | None = None
    ) -> None:
        from classifiers.ml.lm.model import load_artifact

        self.model_name = "cosmo-lm:" + artifact.rstrip("/").rsplit("/", 1)[-1]
        self.model, self.tokenizer = load_artifact(Path(artifact), device=device, base=base)
        self.batch_size = batch_size
        self.stats = BackendStats()

    def generate(self, prompts: Sequence[str], sampling: Sampling) -> list[Completion]:
        from classifiers.ml.lm.data import split_tails
        from classifiers.ml.lm.model import generate_texts

        pairs = [tuple(prompt.split("\n", 1)) if "\n" in prompt else ("", prompt) for prompt in prompts]
        out: list[Completion] = []
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            self.stats.requests += 1
            try:
                texts = generate_texts(
                    self.model,
                    self.tokenizer,
                    [(instruction, text) for instruction, text in chunk],
                    max_new_tokens=sampling.max_tokens,
                    batch_size=self.batch_size,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    seed=sampling.seed,
                )
                out += [
                    Completion("\n".join(f"{i}. {tail}" for i, tail in enumerate(split_tails(text), 1)))
                    for text in texts
                ]
            except Exception as exc:  # one failing batch is counted, the run goes on
                out += [Completion(None, f"{type(exc).__name__}: {exc}"[:300]) for _ in chunk]
        return out


def cosmo_prompt(*, behaviour: str, relation: str) -> str:
    """The prompt ``CosmoLMBackend`` reads: COSMO-LM's generation instruction and the behaviour sentence."""
    from classifiers.ml.lm.data import generation_instruction

    return f"{generation_instruction(relation)}\n{behaviour}"
