import sys

from lcdb_pipeline.bench import main

sys.exit(main())
