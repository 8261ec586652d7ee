import sys

from pgpviewer.cli import main

sys.exit(main())
