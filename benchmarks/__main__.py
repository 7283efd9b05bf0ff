import sys

if sys.argv[1:2] == ["targets"]:
    from benchmarks.ingest_targets import main

    main(sys.argv[2:])
else:
    from benchmarks.run import main

    main()
