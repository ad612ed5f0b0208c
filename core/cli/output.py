"""Printing command results."""
from __future__ import annotations

import json


def print_result(obj, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, indent=2, default=str))
    elif isinstance(obj, list):
        for row in obj:
            print(row)
    else:
        print(obj)
