from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Campaign


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("queue")
    return render(request, "campaigns/list.html", {"campaigns": campaigns})
