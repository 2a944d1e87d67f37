"""Maven: `pom.xml` dependencies, under `<dependencies>` and `<dependencyManagement>` (of the project and of its
profiles); plugin dependencies are build tooling and are left out.

`${property}` is resolved from `<properties>` and the project's own coordinates (`${project.version}`,
`${project.groupId}`, `${project.parent.version}`). A version that stays unresolved (a property from a parent POM
we do not have), is missing (managed by a parent or a BOM) or is a range (`[1.0,2.0)`) becomes "": listed, never
guessed. Every entry is direct: a POM declares, it does not lock.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from core.dependencies.parsers.common import Source, elements_with_lines, load_xml, local_name

_PROPERTY = re.compile(r"\$\{([^}]+)\}")
_CONTAINERS = ("project", "dependencyManagement", "profile")


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if local_name(child.tag) == name:
            return child
    return None


def _properties(project: ET.Element) -> dict[str, str]:
    properties: dict[str, str] = {}
    for group in project:
        if local_name(group.tag) == "properties":
            properties.update({local_name(p.tag): (p.text or "").strip() for p in group})
    parent = _child(project, "parent")
    parent_version = _child_text(parent, "version") if parent is not None else ""
    parent_group = _child_text(parent, "groupId") if parent is not None else ""
    version = _child_text(project, "version") or parent_version
    group = _child_text(project, "groupId") or parent_group
    properties.update(
        {
            "project.version": version,
            "pom.version": version,
            "project.groupId": group,
            "pom.groupId": group,
            "project.artifactId": _child_text(project, "artifactId"),
            "project.parent.version": parent_version,
            "project.parent.groupId": parent_group,
        }
    )
    return properties


def resolve(value: str, properties: dict[str, str]) -> str:
    # Properties may refer to properties; a bounded number of rounds also stops self-reference.
    for _ in range(10):
        expanded = _PROPERTY.sub(lambda m: properties.get(m.group(1), m.group(0)), value)
        if expanded == value:
            break
        value = expanded
    return value


def parse_pom(src: Source) -> None:
    project = load_xml(src)
    if project is None:
        return
    if local_name(project.tag) != "project":
        src.problem("not a Maven POM (the root element is not <project>)")
        return
    properties = _properties(project)
    parents = {child: parent for parent in project.iter() for child in parent}
    for dependency, line in elements_with_lines(project, src.text, "dependency"):
        holder = parents.get(dependency)
        container = parents.get(holder) if holder is not None else None
        if holder is None or local_name(holder.tag) != "dependencies" or container is None:
            continue
        if local_name(container.tag) not in _CONTAINERS:
            continue  # a plugin's dependencies
        group = resolve(_child_text(dependency, "groupId"), properties)
        artifact = resolve(_child_text(dependency, "artifactId"), properties)
        if not group or not artifact:
            continue
        version = resolve(_child_text(dependency, "version"), properties)
        if "${" in version or version[:1] in "[(" or "," in version:
            version = ""
        src.add("maven", f"{group}:{artifact}", version, line, True)
