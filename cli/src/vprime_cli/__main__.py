"""vprime: feed context events into Vprime by hand, and try the scorer on a text.

  vprime publish posts FILE.jsonl       one JSON object per line (post_id, account_id, author_handle, text, posted_at)
  vprime publish research FILE.jsonl    (research_id, institute_id, text, instrument?, side?, conviction, published_at)
  vprime publish ticks FILE.jsonl       (venue, instrument, bid, ask, mid, ts)
  vprime score [--json] TEXT            the instruments a text is about, with stance and confidence

KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092) or --bootstrap says where Kafka is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from vprime_cli.publish import KINDS, publish_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vprime", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="publish a JSONL file of context events")
    publish.add_argument("kind", choices=sorted(KINDS))
    publish.add_argument("file", type=Path)
    publish.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    score = commands.add_parser("score", help="score one text")
    score.add_argument("text")
    score.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    if args.command == "publish":
        if not args.file.is_file():
            print(f"[vprime] error: {args.file} is not a file", file=sys.stderr)
            return 2
        report = asyncio.run(publish_file(args.kind, args.file, args.bootstrap))
        print(f"[vprime] done: {report.published} published, {len(report.invalid)} skipped as invalid, {report.seconds:.1f}s", file=sys.stderr)
        return 1 if report.invalid else 0

    from vprime_signal.scoring import default_scorer

    stances = [s.as_dict() for s in default_scorer().score(args.text)]
    if args.json:
        print(json.dumps(stances))
    else:
        for s in stances or [{"instrument": "-", "stance": "no instrument", "confidence": 0}]:
            print(f"{s['instrument']:<10} {s['stance']:<13} {s['confidence']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
