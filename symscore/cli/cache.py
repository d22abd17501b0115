"""``symscore cache info|verify|clear``: where the kernel cache is, check it, empty it.

``verify`` exits 1 when it finds a problem (one line each), 0 when all is well.
"""

from __future__ import annotations

import json

from .common import add_subcommand

EXAMPLE = 'symscore cache info'


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def run(args) -> int:
    from ..codegen import cache_tools
    if args.action == "info":
        data = cache_tools.info()
        if args.json:
            print(json.dumps(data, indent=2))
            return 0
        print(f"cache:   {data['kernels']}" + ("" if data["exists"] else "  (not created yet)"))
        print(f"from:    {data['source']}")
        print(f"holds:   {data['modules']} generated modules, {data['numba_files']} numba "
              f"files; {data['files']} files, {_size(data['bytes'])}")
        print("clear:   symscore cache clear")
        return 0
    if args.action == "verify":
        problems = cache_tools.verify()
        if args.json:
            print(json.dumps({"problems": problems}, indent=2))
        elif problems:
            for line in problems:
                print(line)
            print(f"{len(problems)} problem(s); `symscore cache clear` removes the cache "
                  "(kernels are rebuilt on next use)")
        else:
            print("kernel cache OK")
        return 1 if problems else 0
    removed = cache_tools.clear()
    if args.json:
        print(json.dumps(removed, indent=2))
    else:
        print(f"removed {removed['path']} ({removed['files']} files, "
              f"{_size(removed['bytes'])})")
    return 0


def register(subs) -> None:
    p = add_subcommand(subs, "cache", "show, check or empty the kernel cache",
                       "Show where the kernel cache is and what it holds (info), check the "
                       "owner, mode and integrity of every file in it (verify; exit 1 on a "
                       "problem), or remove it (clear). The cache lives in $SYMSCORE_CACHE_DIR "
                       "if set, else the user cache directory.", EXAMPLE, run)
    p.add_argument("action", choices=("info", "verify", "clear"))
    p.add_argument("--json", action="store_true", help="print JSON")
