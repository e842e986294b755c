from django.conf import settings


def assina(request):
    return {"assina_mode": settings.ASSINA_MODE}
