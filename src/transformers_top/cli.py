"""The `transformers-top` command line.

```bash
transformers-top export-onnx out/final out/onnx                   # float32, the pruning inside the graph
transformers-top export-onnx out/final out/onnx-int8 --quantize int8
```
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="transformers-top", description="ToP token pruning for transformers.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser(
        "export-onnx",
        help="export a (pruned) sequence classifier to ONNX, the pruning inside the graph",
        description="Export a finalized ToP model (a folder or a Hub repo id), or a dense classifier, to ONNX.",
    )
    export.add_argument("model", help="the model's folder or Hub repo id")
    export.add_argument("output_dir", help="a new or empty folder for the graph, config.json and the tokenizer")
    export.add_argument("--quantize", choices=["int8"], help="ONNX Runtime dynamic int8 quantization")
    export.add_argument("--revision", help="the Hub revision of the model")
    export.add_argument(
        "--attn_implementation",
        choices=["eager", "sdpa"],
        default="eager",
        help="the attention the graph is traced with (default: eager, the faster graph in ONNX Runtime)",
    )
    export.add_argument(
        "--output_kept_tokens", action="store_true", help="give the graph a second output: tokens per layer and row"
    )
    args = parser.parse_args(argv)

    from .onnx import export_onnx  # the export needs the [onnx] extra; the parser does not

    try:
        path = export_onnx(
            args.model,
            args.output_dir,
            quantize=args.quantize,
            revision=args.revision,
            output_kept_tokens=args.output_kept_tokens,
            attn_implementation=args.attn_implementation,
        )
    except ValueError as error:
        parser.error(str(error))
    print(f"exported {args.model} to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
