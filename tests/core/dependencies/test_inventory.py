"""The dependency inventory: each format's exact entries (ecosystem, name, version, purl, path, line, direct),
the cross-file rules (lockfile over package.json, csproj beside packages.lock.json, sibling manifests for direct),
and defective input turned into problems, never exceptions."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from core.dependencies.inventory import inventory

Row = tuple[str, str, str, str, str, int | None, bool]


def text(block: str) -> str:
    """A dedented fixture whose first content line is line 1."""
    return textwrap.dedent(block).lstrip("\n")


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def rows(root: Path, **options) -> list[Row]:
    dependencies, problems = inventory(root, **options)
    assert problems == []
    return [(d.ecosystem, d.name, d.version, d.purl, d.path, d.line, d.direct) for d in dependencies]


# ---------------------------------------------------------------------------------------------------- npm

PACKAGE_LOCK_V3 = text(
    """
    {
      "name": "shop",
      "version": "1.0.0",
      "lockfileVersion": 3,
      "requires": true,
      "packages": {
        "": {
          "name": "shop",
          "version": "1.0.0",
          "dependencies": {
            "@babel/core": "^7.0.0",
            "lodash": "^4.17.0"
          },
          "devDependencies": {
            "jest": "^29.0.0"
          }
        },
        "node_modules/@babel/core": {
          "version": "7.0.0",
          "resolved": "https://registry.npmjs.org/@babel/core/-/core-7.0.0.tgz"
        },
        "node_modules/@babel/core/node_modules/lodash": {
          "version": "4.17.4"
        },
        "node_modules/jest": {
          "version": "29.7.0",
          "dev": true
        },
        "node_modules/lodash": {
          "version": "4.17.21"
        },
        "node_modules/left-pad": {
          "version": "1.3.0"
        },
        "node_modules/local-lib": {
          "resolved": "libs/local-lib",
          "link": true
        },
        "node_modules/no-version": {}
      }
    }
    """
)


def test_package_lock_v3_scoped_nested_direct_links_skipped(tmp_path):
    write(tmp_path, {"web/package-lock.json": PACKAGE_LOCK_V3, "web/package.json": '{"dependencies": {}}'})
    path = "web/package-lock.json"
    assert rows(tmp_path) == [
        ("npm", "@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0", path, 18, True),
        ("npm", "lodash", "4.17.4", "pkg:npm/lodash@4.17.4", path, 22, False),  # nested: not the declared one
        ("npm", "jest", "29.7.0", "pkg:npm/jest@29.7.0", path, 25, True),
        ("npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21", path, 29, True),
        ("npm", "left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0", path, 32, False),
    ]


def test_package_lock_workspace_member_dependencies_are_direct(tmp_path):
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "mono", "workspaces": ["packages/*"]},
            "packages/api": {"name": "api", "dependencies": {"express": "^4.17.0"}},
            "node_modules/api": {"resolved": "packages/api", "link": True},
            "node_modules/express": {"version": "4.17.1"},
            "node_modules/my-alias": {"name": "left-pad", "version": "1.3.0"},
        },
    }
    write(tmp_path, {"package-lock.json": json.dumps(lock, indent=2)})
    assert rows(tmp_path) == [
        ("npm", "express", "4.17.1", "pkg:npm/express@4.17.1", "package-lock.json", 20, True),
        ("npm", "left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0", "package-lock.json", 23, False),
    ]


PACKAGE_LOCK_V1 = text(
    """
    {
      "name": "legacy",
      "lockfileVersion": 1,
      "dependencies": {
        "a-lib": {
          "version": "1.0.0",
          "requires": {
            "b-lib": "^2.0.0"
          },
          "dependencies": {
            "b-lib": {
              "version": "2.1.0"
            }
          }
        },
        "b-lib": {
          "version": "3.0.0"
        },
        "git-dep": {
          "version": "github:user/git-dep#abc123"
        }
      }
    }
    """
)


def test_package_lock_v1_tree_lines_skip_requires(tmp_path):
    write(
        tmp_path, {"package-lock.json": PACKAGE_LOCK_V1, "package.json": '{"dependencies": {"a-lib": "^1"}}'}
    )
    assert rows(tmp_path) == [
        ("npm", "a-lib", "1.0.0", "pkg:npm/a-lib@1.0.0", "package-lock.json", 5, True),
        # Line 11, not line 8 where a-lib's "requires" names b-lib.
        ("npm", "b-lib", "2.1.0", "pkg:npm/b-lib@2.1.0", "package-lock.json", 11, False),
        ("npm", "b-lib", "3.0.0", "pkg:npm/b-lib@3.0.0", "package-lock.json", 16, False),
    ]


def test_a_5000_entry_package_lock_has_exact_lines(tmp_path):
    count = 5000
    packages: dict = {"": {"name": "big", "dependencies": {f"pkg-{i}": "^1.0.0" for i in range(count)}}}
    for i in range(count):
        # Each package requires the next one: the same names appear as keys all over the file.
        packages[f"node_modules/pkg-{i}"] = {
            "version": f"1.0.{i}",
            "dependencies": {f"pkg-{i + 1}": "^1.0.0"},
        }
    lock = {"name": "big", "lockfileVersion": 3, "packages": packages}
    content = json.dumps(lock, indent=2)
    write(tmp_path, {"package-lock.json": content})
    dependencies, problems = inventory(tmp_path)
    assert problems == []
    assert len(dependencies) == count
    lines = content.splitlines()
    by_name = {d.name: d for d in dependencies}
    # json.dumps(indent=2): 5009 lines (the root entry with its 5000 names) before the first package, then
    # 6 lines per package.
    for i in (0, 1, 2500, 4999):
        dep = by_name[f"pkg-{i}"]
        assert dep.line == 5010 + 6 * i
        assert lines[dep.line - 1] == f'    "node_modules/pkg-{i}": {{'
        assert (dep.version, dep.direct) == (f"1.0.{i}", True)


YARN_V1 = text(
    """
    # THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
    # yarn lockfile v1


    "@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
      version "7.12.13"
      resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#abc"
      integrity sha512-xyz
      dependencies:
        "@babel/highlight" "^7.10.4"

    "@babel/highlight@^7.10.4":
      version "7.13.10"
      resolved "https://registry.yarnpkg.com/@babel/highlight/-/highlight-7.13.10.tgz#def"

    left-pad@^1.3.0, left-pad@~1.3.0:
      version "1.3.0"

    "my-alias@npm:lodash@^4.17.0":
      version "4.17.21"

    "local@file:../local":
      version "0.0.1"
    """
)


def test_yarn_v1_multi_specifier_entries_aliases_and_direct_from_package_json(tmp_path):
    manifest = {
        "dependencies": {"@babel/code-frame": "^7.0.0", "my-alias": "npm:lodash@^4.17.0"},
        "devDependencies": {"left-pad": "~1.3.0"},
    }
    write(tmp_path, {"yarn.lock": YARN_V1, "package.json": json.dumps(manifest)})
    assert rows(tmp_path) == [
        ("npm", "@babel/code-frame", "7.12.13", "pkg:npm/%40babel/code-frame@7.12.13", "yarn.lock", 5, True),
        ("npm", "@babel/highlight", "7.13.10", "pkg:npm/%40babel/highlight@7.13.10", "yarn.lock", 12, False),
        ("npm", "left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0", "yarn.lock", 16, True),
        ("npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21", "yarn.lock", 19, True),
    ]


def test_yarn_v1_without_package_json_is_all_transitive(tmp_path):
    write(tmp_path, {"yarn.lock": YARN_V1})
    assert {row[6] for row in rows(tmp_path)} == {False}


YARN_BERRY = text(
    """
    # This file is generated by running "yarn install" inside your project.
    # Manual changes might be lost - proceed with caution!

    __metadata:
      version: 6
      cacheKey: 8

    "@types/node@npm:^18.0.0, @types/node@npm:^18.11.0":
      version: 18.11.9
      resolution: "@types/node@npm:18.11.9"
      checksum: abc
      languageName: node
      linkType: hard

    "lodash@npm:^4.17.20":
      version: 4.17.21
      resolution: "lodash@npm:4.17.21"
      languageName: node
      linkType: hard

    "resolve@patch:resolve@^1.20.0#~builtin<compat/resolve>":
      version: 1.22.1
      resolution: "resolve@patch:resolve@npm%3A1.22.1#~builtin<compat/resolve>::version=1.22.1&hash=07638b"
      dependencies:
        is-core-module: ^2.9.0
      languageName: node
      linkType: hard

    "shop@workspace:.":
      version: 0.0.0-use.local
      resolution: "shop@workspace:."
      dependencies:
        "@types/node": ^18.0.0
        lodash: ^4.17.20
      languageName: unknown
      linkType: soft
    """
)


def test_yarn_berry_entries_workspace_skipped_and_its_dependencies_direct(tmp_path):
    write(tmp_path, {"app/yarn.lock": YARN_BERRY})
    path = "app/yarn.lock"
    assert rows(tmp_path) == [
        ("npm", "@types/node", "18.11.9", "pkg:npm/%40types/node@18.11.9", path, 8, True),
        ("npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21", path, 15, True),
        ("npm", "resolve", "1.22.1", "pkg:npm/resolve@1.22.1", path, 21, False),
    ]


def test_package_json_alone_yields_exact_pins_only(tmp_path):
    manifest = text(
        """
        {
          "name": "site",
          "dependencies": {
            "express": "4.17.1",
            "lodash": "^4.17.21",
            "pad": "npm:left-pad@1.3.0"
          },
          "devDependencies": {
            "typescript": "=5.2.2",
            "eslint": "latest"
          }
        }
        """
    )
    write(tmp_path, {"package.json": manifest})
    assert rows(tmp_path) == [
        ("npm", "express", "4.17.1", "pkg:npm/express@4.17.1", "package.json", 4, True),
        ("npm", "left-pad", "1.3.0", "pkg:npm/left-pad@1.3.0", "package.json", 6, True),
        ("npm", "typescript", "5.2.2", "pkg:npm/typescript@5.2.2", "package.json", 9, True),
    ]


def test_package_json_under_a_lockfile_folder_is_not_read(tmp_path):
    lock = {"lockfileVersion": 3, "packages": {"": {}, "node_modules/express": {"version": "4.18.2"}}}
    write(
        tmp_path,
        {
            "package-lock.json": json.dumps(lock),
            "package.json": '{"dependencies": {"express": "4.18.2"}}',
            "packages/api/package.json": '{"dependencies": {"express": "4.17.1"}}',
        },
    )
    assert [(row[1], row[2], row[4]) for row in rows(tmp_path)] == [
        ("express", "4.18.2", "package-lock.json")
    ]


# ------------------------------------------------------------------------------------------------- Python

REQUIREMENTS = text(
    """
    # production pins
    -r base.txt
    --index-url https://pypi.org/simple
    Django==4.2.1  # web
    requests[socks,security]==2.31.0 ; python_version >= "3.8"
    urllib3==2.0.7 \\
        --hash=sha256:aaa \\
        --hash=sha256:bbb
    Flask>=2.0
    zope.interface===6.0
    -e git+https://github.com/x/y.git#egg=y
    ./local-package
    typing_extensions ; python_version < "3.8"
    Celery==5.*
    """
)


def test_requirements_pins_markers_extras_hashes_continuations_and_unpinned(tmp_path):
    write(
        tmp_path,
        {"requirements.txt": REQUIREMENTS, "requirements/dev.txt": "pytest==7.4.0\n", "notes.txt": "x==1"},
    )
    assert rows(tmp_path) == [
        ("PyPI", "django", "4.2.1", "pkg:pypi/django@4.2.1", "requirements.txt", 4, True),
        ("PyPI", "requests", "2.31.0", "pkg:pypi/requests@2.31.0", "requirements.txt", 5, True),
        ("PyPI", "urllib3", "2.0.7", "pkg:pypi/urllib3@2.0.7", "requirements.txt", 6, True),
        ("PyPI", "flask", "", "pkg:pypi/flask", "requirements.txt", 9, True),
        ("PyPI", "zope-interface", "6.0", "pkg:pypi/zope-interface@6.0", "requirements.txt", 10, True),
        ("PyPI", "typing-extensions", "", "pkg:pypi/typing-extensions", "requirements.txt", 13, True),
        ("PyPI", "celery", "", "pkg:pypi/celery", "requirements.txt", 14, True),
        ("PyPI", "pytest", "7.4.0", "pkg:pypi/pytest@7.4.0", "requirements/dev.txt", 1, True),
    ]


POETRY_LOCK = text(
    """
    # This file is automatically @generated by Poetry 1.7.1 and should not be changed by hand.

    [[package]]
    name = "Jinja2"
    version = "2.4.1"
    description = "A small but fast and easy to use stand-alone template engine"
    optional = false
    python-versions = "*"
    files = []

    [package.dependencies]
    MarkupSafe = ">=0.23"

    [[package]]
    name = "markupsafe"
    version = "2.1.3"
    description = ""
    optional = false
    python-versions = ">=3.7"
    files = []

    [[package]]
    name = "pytest"
    version = "7.4.0"
    description = ""
    optional = false
    python-versions = ">=3.7"
    files = []

    [[package]]
    name = "mylib"
    version = "0.1.0"
    description = ""
    optional = false
    python-versions = "*"
    files = []

    [package.source]
    type = "directory"
    url = "../mylib"

    [metadata]
    lock-version = "2.0"
    python-versions = "^3.11"
    content-hash = "abc"
    """
)

POETRY_PYPROJECT = text(
    """
    [tool.poetry]
    name = "app"

    [tool.poetry.dependencies]
    python = "^3.11"
    jinja2 = "^2.4"

    [tool.poetry.group.dev.dependencies]
    pytest = "^7.4"
    """
)


def test_poetry_lock_direct_from_pyproject_and_local_sources_skipped(tmp_path):
    write(tmp_path, {"poetry.lock": POETRY_LOCK, "pyproject.toml": POETRY_PYPROJECT})
    assert rows(tmp_path) == [
        ("PyPI", "jinja2", "2.4.1", "pkg:pypi/jinja2@2.4.1", "poetry.lock", 3, True),
        ("PyPI", "markupsafe", "2.1.3", "pkg:pypi/markupsafe@2.1.3", "poetry.lock", 14, False),
        ("PyPI", "pytest", "7.4.0", "pkg:pypi/pytest@7.4.0", "poetry.lock", 22, True),
    ]


def test_poetry_lock_with_pep621_project_dependencies(tmp_path):
    pyproject = '[project]\nname = "app"\ndependencies = ["MarkupSafe>=2 ; python_version > \'3\'"]\n'
    write(tmp_path, {"poetry.lock": POETRY_LOCK, "pyproject.toml": pyproject})
    assert [(row[1], row[6]) for row in rows(tmp_path)] == [
        ("jinja2", False),
        ("markupsafe", True),
        ("pytest", False),
    ]


PIPFILE_LOCK = text(
    """
    {
        "_meta": {
            "hash": {"sha256": "abc"},
            "requires": {"python_version": "3.11"}
        },
        "default": {
            "requests": {
                "hashes": ["sha256:aaa"],
                "index": "pypi",
                "version": "==2.31.0"
            },
            "certifi": {
                "version": "==2023.7.22"
            },
            "mylib": {
                "editable": true,
                "path": "."
            }
        },
        "develop": {
            "pytest": {
                "version": "==7.4.0"
            },
            "requests": {
                "version": "==2.31.0"
            }
        }
    }
    """
)


def test_pipfile_lock_direct_from_pipfile_or_all_direct_without_one(tmp_path):
    pipfile = '[packages]\nrequests = "*"\n\n[dev-packages]\npytest = "*"\n'
    write(tmp_path, {"Pipfile.lock": PIPFILE_LOCK, "Pipfile": pipfile, "solo/Pipfile.lock": PIPFILE_LOCK})
    assert rows(tmp_path) == [
        ("PyPI", "requests", "2.31.0", "pkg:pypi/requests@2.31.0", "Pipfile.lock", 7, True),
        ("PyPI", "certifi", "2023.7.22", "pkg:pypi/certifi@2023.7.22", "Pipfile.lock", 12, False),
        ("PyPI", "pytest", "7.4.0", "pkg:pypi/pytest@7.4.0", "Pipfile.lock", 21, True),
        ("PyPI", "requests", "2.31.0", "pkg:pypi/requests@2.31.0", "solo/Pipfile.lock", 7, True),
        ("PyPI", "certifi", "2023.7.22", "pkg:pypi/certifi@2023.7.22", "solo/Pipfile.lock", 12, True),
        ("PyPI", "pytest", "7.4.0", "pkg:pypi/pytest@7.4.0", "solo/Pipfile.lock", 21, True),
    ]


UV_LOCK = text(
    """
    version = 1
    requires-python = ">=3.11"

    [[package]]
    name = "anyio"
    version = "4.2.0"
    source = { registry = "https://pypi.org/simple" }
    dependencies = [
        { name = "idna" },
        { name = "sniffio" },
    ]

    [[package]]
    name = "idna"
    version = "3.6"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "my-service"
    version = "0.1.0"
    source = { editable = "." }
    dependencies = [
        { name = "anyio" },
    ]

    [package.dev-dependencies]
    dev = [
        { name = "pytest" },
    ]

    [[package]]
    name = "pytest"
    version = "8.0.0"
    source = { registry = "https://pypi.org/simple" }
    """
)


def test_uv_lock_root_skipped_and_its_dependencies_direct(tmp_path):
    write(tmp_path, {"svc/uv.lock": UV_LOCK})
    assert rows(tmp_path) == [
        ("PyPI", "anyio", "4.2.0", "pkg:pypi/anyio@4.2.0", "svc/uv.lock", 4, True),
        ("PyPI", "idna", "3.6", "pkg:pypi/idna@3.6", "svc/uv.lock", 13, False),
        ("PyPI", "pytest", "8.0.0", "pkg:pypi/pytest@8.0.0", "svc/uv.lock", 31, True),
    ]


# ----------------------------------------------------------------------------------------------------- Go

GO_MOD = text(
    """
    module example.com/shop

    go 1.21

    require (
        github.com/gin-gonic/gin v1.6.0
        github.com/old/lib v1.0.0
        golang.org/x/text v0.3.7 // indirect
        example.com/local v0.0.0
    )

    require github.com/stretchr/testify v1.8.4

    replace github.com/old/lib => github.com/new/lib v1.2.0

    replace example.com/local => ../local
    """
)

GO_SUM = text(
    """
    github.com/gin-gonic/gin v1.6.0 h1:aaa=
    github.com/gin-gonic/gin v1.6.0/go.mod h1:bbb=
    github.com/davecgh/go-spew v1.1.1 h1:ccc=
    github.com/davecgh/go-spew v1.1.1/go.mod h1:ddd=
    github.com/davecgh/go-spew v1.1.0/go.mod h1:eee=
    github.com/new/lib v1.2.0 h1:fff=
    github.com/old/lib v1.0.0 h1:hhh=
    gopkg.in/yaml.v3 v3.0.1 h1:ggg=
    """
)


def test_go_mod_indirect_replace_and_go_sum_extras(tmp_path):
    write(tmp_path, {"go.mod": GO_MOD, "go.sum": GO_SUM})
    assert rows(tmp_path) == [
        (
            "Go",
            "github.com/gin-gonic/gin",
            "v1.6.0",
            "pkg:golang/github.com/gin-gonic/gin@v1.6.0",
            "go.mod",
            6,
            True,
        ),
        ("Go", "github.com/new/lib", "v1.2.0", "pkg:golang/github.com/new/lib@v1.2.0", "go.mod", 7, True),
        ("Go", "golang.org/x/text", "v0.3.7", "pkg:golang/golang.org/x/text@v0.3.7", "go.mod", 8, False),
        ("Go", "example.com/local", "", "pkg:golang/example.com/local", "go.mod", 9, True),
        (
            "Go",
            "github.com/stretchr/testify",
            "v1.8.4",
            "pkg:golang/github.com/stretchr/testify@v1.8.4",
            "go.mod",
            12,
            True,
        ),
        (
            "Go",
            "github.com/davecgh/go-spew",
            "v1.1.1",
            "pkg:golang/github.com/davecgh/go-spew@v1.1.1",
            "go.sum",
            3,
            False,
        ),
        ("Go", "gopkg.in/yaml.v3", "v3.0.1", "pkg:golang/gopkg.in/yaml.v3@v3.0.1", "go.sum", 8, False),
    ]


# -------------------------------------------------------------------------------------------------- Maven

POM = text(
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <project xmlns="http://maven.apache.org/POM/4.0.0"
             xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <modelVersion>4.0.0</modelVersion>
      <groupId>com.contoso</groupId>
      <artifactId>payments</artifactId>
      <version>3.1.0</version>
      <properties>
        <log4j.version>2.14.1</log4j.version>
        <jackson.version>${jackson.base}.1</jackson.version>
        <jackson.base>2.9</jackson.base>
      </properties>
      <dependencyManagement>
        <dependencies>
          <dependency>
            <groupId>com.fasterxml.jackson.core</groupId>
            <artifactId>jackson-databind</artifactId>
            <version>${jackson.version}</version>
          </dependency>
        </dependencies>
      </dependencyManagement>
      <dependencies>
        <!-- <dependency><groupId>x</groupId><artifactId>commented</artifactId></dependency> -->
        <dependency>
          <groupId>org.apache.logging.log4j</groupId>
          <artifactId>log4j-core</artifactId>
          <version>${log4j.version}</version>
        </dependency>
        <dependency>
          <groupId>${project.groupId}</groupId>
          <artifactId>payments-common</artifactId>
          <version>${project.version}</version>
        </dependency>
        <dependency>
          <groupId>org.springframework</groupId>
          <artifactId>spring-core</artifactId>
          <version>${spring.version}</version>
        </dependency>
        <dependency>
          <groupId>junit</groupId>
          <artifactId>junit</artifactId>
          <version>[4.0,5.0)</version>
          <scope>test</scope>
        </dependency>
      </dependencies>
      <build>
        <plugins>
          <plugin>
            <artifactId>maven-shade-plugin</artifactId>
            <dependencies>
              <dependency>
                <groupId>org.ow2.asm</groupId>
                <artifactId>asm</artifactId>
                <version>9.0</version>
              </dependency>
            </dependencies>
          </plugin>
        </plugins>
      </build>
    </project>
    """
)


def test_pom_properties_project_version_unresolved_and_range(tmp_path):
    write(tmp_path, {"payments/pom.xml": POM})
    path = "payments/pom.xml"
    assert rows(tmp_path) == [
        (
            "Maven",
            "com.fasterxml.jackson.core:jackson-databind",
            "2.9.1",
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1",
            path,
            15,
            True,
        ),
        (
            "Maven",
            "org.apache.logging.log4j:log4j-core",
            "2.14.1",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            path,
            24,
            True,
        ),
        (
            "Maven",
            "com.contoso:payments-common",
            "3.1.0",
            "pkg:maven/com.contoso/payments-common@3.1.0",
            path,
            29,
            True,
        ),
        (
            "Maven",
            "org.springframework:spring-core",
            "",
            "pkg:maven/org.springframework/spring-core",
            path,
            34,
            True,
        ),
        ("Maven", "junit:junit", "", "pkg:maven/junit/junit", path, 39, True),
    ]


def test_pom_without_namespace(tmp_path):
    pom = "<project>\n<dependencies>\n<dependency><groupId>g</groupId><artifactId>a</artifactId><version>1.0</version></dependency>\n</dependencies>\n</project>\n"
    write(tmp_path, {"pom.xml": pom})
    assert rows(tmp_path) == [("Maven", "g:a", "1.0", "pkg:maven/g/a@1.0", "pom.xml", 3, True)]


def test_xml_with_a_doctype_is_refused_and_never_expanded(tmp_path):
    pom = text(
        """
        <?xml version="1.0"?>
        <!DOCTYPE project [<!ENTITY v "6.6.6">]>
        <project>
          <dependencies>
            <dependency><groupId>g</groupId><artifactId>a</artifactId><version>&v;</version></dependency>
          </dependencies>
        </project>
        """
    )
    write(tmp_path, {"pom.xml": pom, "App.csproj": pom.replace("project", "Project")})
    dependencies, problems = inventory(tmp_path)
    assert dependencies == []
    assert problems == [
        "App.csproj: refused: the XML declares a DOCTYPE (entities are never expanded)",
        "pom.xml: refused: the XML declares a DOCTYPE (entities are never expanded)",
    ]


# -------------------------------------------------------------------------------------------------- NuGet

CSPROJ = text(
    """
    <Project Sdk="Microsoft.NET.Sdk">
      <PropertyGroup>
        <TargetFramework>net8.0</TargetFramework>
        <SerilogVersion>3.1.1</SerilogVersion>
      </PropertyGroup>
      <ItemGroup>
        <PackageReference Include="Newtonsoft.Json" Version="12.0.1" />
        <PackageReference Include="Serilog" Version="$(SerilogVersion)" />
        <PackageReference Include="Dapper">
          <Version>2.1.24</Version>
        </PackageReference>
        <PackageReference Update="Azure.Identity" Version="1.10.0" />
        <PackageReference Include="Polly" Version="[7.0,8.0)" />
        <PackageReference Include="Centrally.Managed" />
        <PackageReference Include="Exact.Range" Version="[2.0.0]" />
      </ItemGroup>
    </Project>
    """
)

CENTRAL = '<Project>\n  <ItemGroup>\n    <PackageVersion Include="Centrally.Managed" Version="5.0.0" />\n  </ItemGroup>\n</Project>\n'


def test_csproj_version_attribute_child_element_property_and_central_management(tmp_path):
    # Visual Studio writes a byte order mark.
    write(tmp_path, {"src/App/App.csproj": "\ufeff" + CSPROJ, "Directory.Packages.props": CENTRAL})
    path = "src/App/App.csproj"
    assert rows(tmp_path) == [
        ("NuGet", "Newtonsoft.Json", "12.0.1", "pkg:nuget/Newtonsoft.Json@12.0.1", path, 7, True),
        ("NuGet", "Serilog", "3.1.1", "pkg:nuget/Serilog@3.1.1", path, 8, True),
        ("NuGet", "Dapper", "2.1.24", "pkg:nuget/Dapper@2.1.24", path, 9, True),
        ("NuGet", "Azure.Identity", "1.10.0", "pkg:nuget/Azure.Identity@1.10.0", path, 12, True),
        ("NuGet", "Polly", "", "pkg:nuget/Polly", path, 13, True),
        ("NuGet", "Centrally.Managed", "5.0.0", "pkg:nuget/Centrally.Managed@5.0.0", path, 14, True),
        ("NuGet", "Exact.Range", "2.0.0", "pkg:nuget/Exact.Range@2.0.0", path, 15, True),
    ]


PACKAGES_LOCK = text(
    """
    {
      "version": 1,
      "dependencies": {
        "net6.0": {
          "Newtonsoft.Json": {
            "type": "Direct",
            "requested": "[13.0.1, )",
            "resolved": "13.0.1",
            "contentHash": "abc",
            "dependencies": {
              "System.Memory": "4.5.4"
            }
          },
          "System.Memory": {
            "type": "Transitive",
            "resolved": "4.5.4"
          },
          "Shared.Core": {
            "type": "Project"
          }
        },
        "net8.0": {
          "Newtonsoft.Json": {
            "type": "Direct",
            "resolved": "13.0.1"
          },
          "System.Memory": {
            "type": "Transitive",
            "resolved": "4.5.5"
          }
        }
      }
    }
    """
)

LIB_CSPROJ = text(
    """
    <Project Sdk="Microsoft.NET.Sdk">
      <ItemGroup>
        <PackageReference Include="Newtonsoft.Json" Version="13.0.1" />
        <PackageReference Include="Humanizer" Version="2.14.1" />
      </ItemGroup>
    </Project>
    """
)


def test_packages_lock_json_frameworks_and_csproj_beside_it(tmp_path):
    packages_config = text(
        """
        <?xml version="1.0" encoding="utf-8"?>
        <packages>
          <package id="jQuery" version="3.4.1" targetFramework="net48" />
        </packages>
        """
    )
    write(
        tmp_path,
        {
            "lib/packages.lock.json": PACKAGES_LOCK,
            "lib/Lib.csproj": LIB_CSPROJ,
            "legacy/packages.config": packages_config,
        },
    )
    assert rows(tmp_path) == [
        ("NuGet", "jQuery", "3.4.1", "pkg:nuget/jQuery@3.4.1", "legacy/packages.config", 3, True),
        ("NuGet", "Humanizer", "2.14.1", "pkg:nuget/Humanizer@2.14.1", "lib/Lib.csproj", 4, True),
        (
            "NuGet",
            "Newtonsoft.Json",
            "13.0.1",
            "pkg:nuget/Newtonsoft.Json@13.0.1",
            "lib/packages.lock.json",
            5,
            True,
        ),
        # Line 14, not the "System.Memory" key inside Newtonsoft.Json's dependencies on line 11.
        (
            "NuGet",
            "System.Memory",
            "4.5.4",
            "pkg:nuget/System.Memory@4.5.4",
            "lib/packages.lock.json",
            14,
            False,
        ),
        (
            "NuGet",
            "System.Memory",
            "4.5.5",
            "pkg:nuget/System.Memory@4.5.5",
            "lib/packages.lock.json",
            27,
            False,
        ),
    ]


# -------------------------------------------------------------------------------------------------- Cargo

CARGO_LOCK = text(
    """
    # This file is automatically @generated by Cargo.
    # It is not intended for manual editing.
    version = 3

    [[package]]
    name = "app"
    version = "0.1.0"
    dependencies = [
     "serde",
     "smallvec 1.6.0",
    ]

    [[package]]
    name = "app-core"
    version = "0.1.0"
    dependencies = [
     "regex",
    ]

    [[package]]
    name = "regex"
    version = "1.5.4"
    source = "registry+https://github.com/rust-lang/crates.io-index"
    checksum = "abc"
    dependencies = [
     "smallvec 1.6.0",
    ]

    [[package]]
    name = "serde"
    version = "1.0.130"
    source = "registry+https://github.com/rust-lang/crates.io-index"

    [[package]]
    name = "smallvec"
    version = "1.6.0"
    source = "registry+https://github.com/rust-lang/crates.io-index"

    [[package]]
    name = "smallvec"
    version = "0.6.14"
    source = "registry+https://github.com/rust-lang/crates.io-index"
    """
)


def test_cargo_lock_workspace_crates_skipped_and_their_dependencies_direct(tmp_path):
    write(tmp_path, {"Cargo.lock": CARGO_LOCK})
    assert rows(tmp_path) == [
        ("crates.io", "regex", "1.5.4", "pkg:cargo/regex@1.5.4", "Cargo.lock", 20, True),
        ("crates.io", "serde", "1.0.130", "pkg:cargo/serde@1.0.130", "Cargo.lock", 29, True),
        ("crates.io", "smallvec", "1.6.0", "pkg:cargo/smallvec@1.6.0", "Cargo.lock", 34, True),
        ("crates.io", "smallvec", "0.6.14", "pkg:cargo/smallvec@0.6.14", "Cargo.lock", 39, False),
    ]


# -------------------------------------------------------------------------------------- defective input


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("package-lock.json", '{\n  "packages": {\n    "SECRET": \n}', "not valid JSON (line 4)"),
        ("package-lock.json", '["SECRET"]', "not a lockfile (the top level is not an object)"),
        ("npm-shrinkwrap.json", '{"packages": {"node_modules/a": "SECRET", "node_modules/b": []}}', None),
        ("npm-shrinkwrap.json", '{"packages": [], "dependencies": {"a": {"version": 7}}}', None),
        ("package.json", "{SECRET", "not valid JSON (line 1)"),
        ("Pipfile.lock", '{"default": {"SECRET": ', "not valid JSON (line 1)"),
        ("Pipfile.lock", '{"default": {"a": "SECRET", "b": {"version": 3}}}', None),
        ("packages.lock.json", '{"dependencies": {"net8.0": ["SECRET"]}}', None),
        ("packages.lock.json", "{\n\n  SECRET", "not valid JSON (line 3)"),
        ("poetry.lock", '[[package]]\nname = "SECRET\n', "not valid TOML (line 2)"),
        ("poetry.lock", 'package = "SECRET"\n', None),
        ("uv.lock", "[[package]\nSECRET", "not valid TOML (line 1)"),
        ("uv.lock", '[[package]]\nname = 1\nsource = "SECRET"\ndependencies = "x"\n', None),
        ("Cargo.lock", "[[package]]\nname = \nSECRET", "not valid TOML (line 2)"),
        ("Cargo.lock", '[[package]]\nname = "a"\nsource = "x"\nversion = ["SECRET"]\n', None),
        ("pom.xml", "<project>\n<dependencies>\n<SECRET></dependencies>", "not valid XML (line 3)"),
        ("pom.xml", "<SECRET/>", "not a Maven POM (the root element is not <project>)"),
        ("App.csproj", "<Project><ItemGroup><PackageReference Include='SECRET'", "not valid XML (line 1)"),
        ("packages.config", "<packages>\n<package id=SECRET/>", "not valid XML (line 2)"),
        ("go.sum", "github.com/a/b v1.0.0 h1:x=\nSECRET\n", "1 malformed line(s) skipped"),
        ("go.mod", "require (\nSECRET\n", None),
        ("yarn.lock", "SECRET:\n  version\n:::\n", None),
        ("requirements.txt", "\\\n==SECRET\n[[[\n", None),
        ("requirements.txt", b"\xff\xfeSECRET", "not UTF-8 text"),
    ],
)
def test_malformed_files_become_problems_not_exceptions(tmp_path, name, content, problem):
    write(tmp_path, {f"repo/{name}": content, "ok/requirements.txt": "six==1.16.0\n"})
    dependencies, problems = inventory(tmp_path)
    assert problems == ([f"repo/{name}: {problem}"] if problem else [])
    assert ("six", "ok/requirements.txt") in [(d.name, d.path) for d in dependencies]
    assert not any("SECRET" in p for p in problems)


def test_files_over_the_size_limit_are_skipped_with_a_problem(tmp_path):
    write(tmp_path, {"requirements.txt": "six==1.16.0\n" * 20, "small/requirements.txt": "six==1.16.0\n"})
    dependencies, problems = inventory(tmp_path, max_file_bytes=100)
    assert problems == ["requirements.txt: skipped, larger than 100 bytes"]
    assert [d.path for d in dependencies] == ["small/requirements.txt"]


def test_symlinks_node_modules_git_and_vendor_are_not_followed(tmp_path):
    outside = write(
        tmp_path / "outside", {"requirements.txt": "six==1.16.0\n", "go.mod": "require a.b/c v1.0.0\n"}
    )
    repo = write(
        tmp_path / "repo",
        {
            "node_modules/left-pad/package-lock.json": PACKAGE_LOCK_V3,
            "web/node_modules/x/requirements.txt": "six==1.16.0\n",
            ".git/requirements.txt": "six==1.16.0\n",
            "vendor/github.com/x/go.mod": GO_MOD,
            "real/requirements.txt": "attrs==23.1.0\n",
        },
    )
    os.symlink(outside, repo / "linked-folder")
    os.symlink(outside / "requirements.txt", repo / "requirements.txt")
    os.symlink(outside / "go.mod", repo / "real" / "go.mod")
    assert [(row[1], row[4]) for row in rows(repo)] == [("attrs", "real/requirements.txt")]


def test_a_fifo_is_not_opened_for_reading(tmp_path):
    os.mkfifo(tmp_path / "requirements.txt")
    write(tmp_path, {"sub/requirements.txt": "six==1.16.0\n"})
    assert [row[4] for row in rows(tmp_path)] == ["sub/requirements.txt"]


def test_identical_entries_are_deduplicated_keeping_the_first_line(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\nsix==1.16.0\nSix==1.16.0\nflask>=2\n"})
    assert rows(tmp_path) == [
        ("PyPI", "flask", "", "pkg:pypi/flask", "requirements.txt", 1, True),
        ("PyPI", "six", "1.16.0", "pkg:pypi/six@1.16.0", "requirements.txt", 2, True),
    ]


def test_a_parser_failure_is_a_problem_and_the_other_files_are_still_read(tmp_path, monkeypatch):
    from core.dependencies import inventory as module

    def broken(src):
        src.add("golang", "example.com/first", "v1.0.0", 1, True)
        raise ValueError("SECRET")

    monkeypatch.setitem(module.PARSERS, "go.mod", broken)
    write(tmp_path, {"go.mod": "module x\n", "requirements.txt": "six==1.16.0\n"})
    dependencies, problems = inventory(tmp_path)
    assert problems == ["go.mod: could not be parsed (ValueError)"]
    assert [(d.name, d.path) for d in dependencies] == [
        ("example.com/first", "go.mod"),
        ("six", "requirements.txt"),
    ]


def test_a_malformed_sibling_manifest_is_reported_and_the_lockfile_still_read(tmp_path):
    write(tmp_path, {"poetry.lock": POETRY_LOCK, "pyproject.toml": "[tool.poetry\n"})
    dependencies, problems = inventory(tmp_path)
    assert problems == ["pyproject.toml: not valid TOML (line 1)"]
    assert [(d.name, d.direct) for d in dependencies] == [
        ("jinja2", False),
        ("markupsafe", False),
        ("pytest", False),
    ]


def test_go_sum_alone_lists_built_modules_as_transitive(tmp_path):
    write(tmp_path, {"tools/go.sum": GO_SUM})
    assert [(row[1], row[2], row[5], row[6]) for row in rows(tmp_path)] == [
        ("github.com/gin-gonic/gin", "v1.6.0", 1, False),
        ("github.com/davecgh/go-spew", "v1.1.1", 3, False),
        ("github.com/new/lib", "v1.2.0", 6, False),
        ("github.com/old/lib", "v1.0.0", 7, False),
        ("gopkg.in/yaml.v3", "v3.0.1", 8, False),
    ]


def test_requirement_with_a_direct_url_is_listed_without_a_version(tmp_path):
    write(tmp_path, {"requirements-prod.txt": "pip @ https://example.com/pip-23.0-py3-none-any.whl\n"})
    assert rows(tmp_path) == [("PyPI", "pip", "", "pkg:pypi/pip", "requirements-prod.txt", 1, True)]
