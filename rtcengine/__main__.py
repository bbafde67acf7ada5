import sys

from rtcengine.cli import main

sys.exit(main())
