"""Checks that a dist build laid out its functions as scripts/text-order.txt
asks: that most names in the list are still symbols of the binary (a new
toolchain or large changes rename them, and scripts/text-order regenerates
the list), and that those functions sit together rather than scattered over
the text.

    python3 check_text_order.py UNSTRIPPED_BINARY ORDER_FILE
"""

import subprocess
import sys

# Below this share of listed names found, the layout has mostly decayed.
MIN_PRESENT = 0.85
# The listed functions may spread over their own size plus alignment padding.
MAX_SPREAD = 1.25


def text_symbols(binary):
    """name -> (address, size) of the binary's sized code symbols."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True,
                         text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            symbols[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
    return symbols


def main(binary, order_file):
    symbols = text_symbols(binary)
    with open(order_file) as f:
        listed = [line.strip() for line in f if line.strip()]
    found = [symbols[name] for name in listed if name in symbols]
    present = len(found) / len(listed) if listed else 0.0
    print("text order: %d of %d listed functions present" % (len(found), len(listed)))
    if present < MIN_PRESENT:
        sys.exit("only %.0f%% of scripts/text-order.txt names are symbols of %s: "
                 "regenerate it with scripts/text-order" % (present * 100, binary))
    start = min(address for address, _ in found)
    end = max(address + size for address, size in found)
    size = sum(size for _, size in found)
    text = sum(s for _, s in symbols.values())
    print("text order: they span %d KiB (their size %d KiB) of %d KiB of code"
          % ((end - start) // 1024, size // 1024, text // 1024))
    if end - start > size * MAX_SPREAD:
        sys.exit("the listed functions are spread over %d KiB: the linker did not apply "
                 "scripts/text-order.txt" % ((end - start) // 1024))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
