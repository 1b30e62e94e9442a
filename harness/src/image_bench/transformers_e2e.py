"""Times transformers answering SmolVLM prompts, for `bench bench-e2e`.

Reads a JSON job on stdin: {"checkpoint": dir, "images": [paths], "prompt": text,
"max_new_tokens": N, "repeats": R, "threads": T}. For each image: the processor
(`AutoProcessor`, the PIL image processor) and greedy `generate` in float32 on the CPU, timed
together and apart, after one warm-up. Prints one JSON object: per image, median milliseconds of
preprocessing, generate, and their sum, and the generated token count.
"""
import json
import sys
import time

import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(job["threads"])
    processor = AutoProcessor.from_pretrained(job["checkpoint"])
    model = AutoModelForImageTextToText.from_pretrained(job["checkpoint"], torch_dtype=torch.float32).eval()
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": job["prompt"]}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    out = {"torch": torch.__version__, "images": {}}
    for path in job["images"]:
        pre, gen, total, tokens = [], [], [], 0
        for attempt in range(job["repeats"] + 1):
            start = time.perf_counter()
            image = Image.open(path)
            inputs = processor(text=text, images=[image], return_tensors="pt")
            mid = time.perf_counter()
            with torch.inference_mode():
                ids = model.generate(**inputs, max_new_tokens=job["max_new_tokens"], do_sample=False)
            end = time.perf_counter()
            tokens = ids.shape[1] - inputs["input_ids"].shape[1]
            if attempt == 0:
                continue  # warm-up
            pre.append((mid - start) * 1e3)
            gen.append((end - mid) * 1e3)
            total.append((end - start) * 1e3)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        out["images"][path] = {"preprocess_ms": med(pre), "generate_ms": med(gen), "e2e_ms": med(total), "new_tokens": tokens}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
