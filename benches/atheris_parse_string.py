"""atheris harness for pyz3_demo.parse_string, the side-by-side anchor of benches/fuzz_vs_atheris.sh.

Same function, same seeds (converted to FuzzedDataProvider's text format), same machine and time
budget as pyz3's `parse_string` target. ValueError is the function's normal rejection of bad
input, as in pyz3's target.
"""
import sys

import atheris

with atheris.instrument_imports():
    import pyz3_demo


def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    s = fdp.ConsumeUnicode(atheris.ALL_REMAINING)
    try:
        pyz3_demo.parse_string(s)
    except ValueError:
        pass


atheris.Setup(sys.argv, TestOneInput)
atheris.Fuzz()
