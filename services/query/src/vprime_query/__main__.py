from vprime_query.app import app, runtime


def main() -> None:
    runtime.serve(app)


if __name__ == "__main__":
    main()
