from django.urls import path

from maillage.marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("", views.need_list, name="need-list"),
    path("besoins/nouveau/", views.need_create, name="need-create"),
    path("besoins/<int:pk>/", views.need_detail, name="need-detail"),
    path("besoins/<int:pk>/modifier/", views.need_edit, name="need-edit"),
    path("besoins/<int:pk>/etape/", views.need_transition, name="need-transition"),
    path("besoins/<int:pk>/groupements/", views.need_consortia, name="need-consortia"),
    path("besoins/<int:pk>/inviter/", views.need_invite, name="need-invite"),
    path("besoins/<int:pk>/lots/<int:number>/attribution/", views.lot_award, name="lot-award"),
    path("besoins/<int:pk>/repondre/", views.need_respond, name="need-respond"),
    path("reponses/<int:pk>/preselection/", views.response_shortlist, name="response-shortlist"),
    path("pieces/<int:pk>/", views.attachment_download, name="attachment"),
    path("fournisseurs/", views.directory, name="directory"),
    path("fournisseurs/profil/<int:establishment_pk>/", views.profile_edit, name="profile-edit"),
]
