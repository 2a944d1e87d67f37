from lxml import etree


def parse(data):
    # ruleid: CODE-PY-010
    parser = etree.XMLParser(resolve_entities=True)
    # ok: CODE-PY-010
    safe = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)
