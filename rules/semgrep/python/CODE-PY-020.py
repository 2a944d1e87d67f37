from django.views.decorators.csrf import csrf_exempt


# ruleid: CODE-PY-020
@csrf_exempt
def transfer(request):
    pass


# ok: CODE-PY-020
def transfer_safe(request):
    pass
