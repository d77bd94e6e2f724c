from qa.training.trainer import main

raise SystemExit(main())
