"""`python -m aggregator` runs the same CLI as `agg`."""

from aggregator.cli import main

if __name__ == "__main__":
    main()
