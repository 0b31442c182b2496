"""Rebuild demo_store/ deterministically: python scripts/make_demo_store.py [PATH]"""

import sys

from explorer.demo import DEMO_STORE, build

if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else DEMO_STORE
    for name, run_id in build(target).items():
        print(name, run_id)
