import sys

from imagelint_client.cli import main

sys.exit(main())
