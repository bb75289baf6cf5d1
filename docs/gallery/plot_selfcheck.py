"""The main job, ``python -m kmatrix --quick``, run during the docs build.

The table below the figure is the command's own output on the build machine; the
script fails (and with it the build) if the command reports any failing row.
"""

import subprocess
import sys
from pathlib import Path

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
proc = subprocess.run(
    [sys.executable, "-m", "kmatrix", "--quick", "--plot", str(out / "plot_selfcheck.png"),
     "--json", str(out / "selfcheck.json")],
    capture_output=True, text=True,
)
print(proc.stdout)
if proc.returncode != 0:
    sys.exit(f"python -m kmatrix --quick exited with status {proc.returncode}\n{proc.stderr}")
