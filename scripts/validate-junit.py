#!/usr/bin/env python3
"""Validate JUnit XML reports against an XML Schema (e.g. junit-10.xsd).

Usage: validate-junit.py SCHEMA XML...

Prints every validation error of every file with the XPath of the offending
element. Exit status: 0 if all files are valid, 1 if any file is invalid or
unreadable, 2 on a usage error (wrong arguments, schema missing or unusable).

Needs the `xmlschema` package: run scripts/test-tools.sh and use
target/test-tools/venv/bin/python.
"""

import sys

USAGE = "usage: validate-junit.py SCHEMA XML..."


def main(argv):
    if len(argv) < 3 or argv[1] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2

    try:
        import xmlschema
    except ImportError:
        print(
            "validate-junit: the 'xmlschema' package is missing; run "
            "scripts/test-tools.sh and use target/test-tools/venv/bin/python",
            file=sys.stderr,
        )
        return 2

    schema_path, xml_paths = argv[1], argv[2:]
    try:
        schema = xmlschema.XMLSchema(schema_path)
    except (OSError, xmlschema.XMLSchemaException, SyntaxError) as exc:
        print(f"validate-junit: cannot load schema {schema_path}: {exc}", file=sys.stderr)
        return 2

    invalid = 0
    for path in xml_paths:
        try:
            errors = list(schema.iter_errors(path))
        except Exception as exc:  # unreadable or not well-formed XML
            invalid += 1
            print(f"{path}: INVALID: {type(exc).__name__}: {exc}")
            continue
        if not errors:
            print(f"{path}: valid")
            continue
        invalid += 1
        print(f"{path}: INVALID ({len(errors)} error{'s' if len(errors) != 1 else ''})")
        for err in errors:
            where = err.path or "/"
            line = getattr(err, "sourceline", None)
            at = f" (line {line})" if line else ""
            reason = err.reason or err.message
            print(f"  {where}{at}: {reason}")

    if invalid:
        print(f"validate-junit: {invalid} of {len(xml_paths)} file(s) invalid", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
